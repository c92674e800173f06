"""StructuringEngine through its public API, on the synthetic tokenizer and a scripted model.

The scripted model "wants" to write a target text; the engine must keep every row inside the
structure, read the output back, and fail clearly on bad input. The real model and real
tokenizers are exercised in test_models.py.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel

from instructor_py.common.errors import (
    ConfigurationError,
    ConstraintError,
    StructuredOutputParseError,
    UnsupportedResponseModelError,
)
from instructor_py.local import (
    ConstraintSpec,
    EngineStepper,
    StructuringEngine,
    TokenizerInfo,
    allowed_token_ids,
)
from tests.support.scripted_model import CountingSampler, ScriptedModel, generate


class User(BaseModel):
    name: str
    age: int


class Pet(BaseModel):
    kind: Literal["cat", "dog"]


def make_user(name: str, age: int) -> None:
    """Create a user."""


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.fixture()
def engine(tok: TokenizerInfo) -> StructuringEngine:
    return StructuringEngine(tok)


def run(engine: StructuringEngine, target: str, **kw: object) -> str:
    generate(engine, ScriptedModel(engine.tokenizer_info, target), CountingSampler(), **kw)  # type: ignore[arg-type]
    return engine.steppers[0].text


# --- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("structure", "target", "expected"),
    [
        (User, '{"name":"ab","age":7}', {"name": "ab", "age": 7}),
        (User.model_json_schema(), '{"name":"ab","age":7}', {"name": "ab", "age": 7}),
        (make_user, '{"name":"ab","age":7}', {"name": "ab", "age": 7}),
        ([User, Pet], '{"kind":"dog"}', {"kind": "dog"}),
        ((Pet, User), '{"name":"ab","age":7}', {"name": "ab", "age": 7}),
        (Point, '{"x":1,"y":22}', {"x": 1, "y": 22}),
        (
            ConstraintSpec.json_schema({"type": "array", "items": {"type": "boolean"}}),
            "[true,false]",
            [True, False],
        ),
    ],
    ids=["pydantic", "schema-dict", "function", "list-any-of", "tuple-any-of", "dataclass", "spec"],
)
def test_configure_each_json_source(
    engine: StructuringEngine, structure: object, target: str, expected: object
) -> None:
    engine.configure(structure)
    text = run(engine, target)
    assert text == target
    assert engine.has_reached_accept_state
    assert engine.get_structured_output() == expected


def test_function_schema_has_its_parameters(engine: StructuringEngine) -> None:
    engine.configure(make_user)
    schema = engine.state_machine.spec.schema  # type: ignore[union-attr]
    assert schema["required"] == ["name", "age"]
    assert schema["properties"]["age"]["type"] == "integer"
    assert schema["description"] == "Create a user."


def test_any_of_keeps_each_members_definitions(engine: StructuringEngine) -> None:
    class Inner(BaseModel):
        v: int

    class A(BaseModel):
        a: Inner

    class B(BaseModel):
        b: Inner

    engine.configure([A, B])
    assert run(engine, '{"b":{"v":3}}') == '{"b":{"v":3}}'
    assert engine.get_structured_output(B) == B(b=Inner(v=3))


def test_non_json_specs(engine: StructuringEngine) -> None:
    engine.configure(ConstraintSpec.regex(r"[a-c]{2}-[0-9]"))
    assert run(engine, "ab-7") == "ab-7"
    assert engine.get_structured_output() == "ab-7"
    engine.configure(ConstraintSpec.choice(["name", "age"]))
    assert run(engine, "age") == "age"
    engine.configure(ConstraintSpec.grammar('start: "x" num\nnum[capture="n"]: /[0-9]+/'))
    assert run(engine, "x42") == "x42"
    assert engine.get_structured_output() == "x42"
    assert list(engine.get_stateful_structured_output()) == [("n", "42")]  # llguidance captures
    assert list(engine.get_stateful_structured_output(int)) == [("n", 42)]


def test_output_type_validation(engine: StructuringEngine) -> None:
    engine.configure(User)
    run(engine, '{"name":"ab","age":7}')
    assert engine.get_structured_output(User) == User(name="ab", age=7)
    assert engine.get_structured_output(dict[str, object]) == {"name": "ab", "age": 7}
    with pytest.raises(StructuredOutputParseError, match="does not validate as Pet"):
        engine.get_structured_output(Pet, raise_on_error=True)
    assert engine.get_structured_output(Pet) == {"name": "ab", "age": 7}  # logged, not raised


# --- sampling ---------------------------------------------------------------------------------


def test_greedy_output_follows_the_model_inside_the_structure(engine: StructuringEngine) -> None:
    engine.configure(User)
    # the model wants a trailing comment and a float age: the engine keeps it valid
    text = run(engine, '{"name":"ab","age":7.5} // done')
    assert text.startswith('{"name":"ab","age":7')
    assert User.model_validate_json(text)


def test_sampled_runs_produce_valid_output(tok: TokenizerInfo) -> None:
    rng = np.random.default_rng(7)

    def sampler(x: np.ndarray) -> np.ndarray:
        p = np.exp(x - x.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        return np.array([rng.choice(p.shape[-1], p=row) for row in p.reshape(-1, p.shape[-1])])

    for seed in range(4):
        engine = StructuringEngine(tok)
        engine.configure(
            {
                "type": "object",
                "properties": {"ok": {"type": "boolean"}, "tag": {"enum": ["a", "bb"]}},
                "required": ["ok", "tag"],
                "additionalProperties": False,
            }
        )
        generate(engine, ScriptedModel(tok, '{"ok":true,"tag":"bb"}', seed=seed), sampler)
        value = json.loads(engine.steppers[0].text)
        assert set(value) == {"ok", "tag"} and value["tag"] in ("a", "bb")


def test_multi_token_sampling_needs_fewer_sampler_calls(tok: TokenizerInfo) -> None:
    target = '{"name":"ab","age":7}'
    outputs, calls = [], []
    for multi in (False, True):
        engine = StructuringEngine(tok, multi_token_sampling=multi)
        engine.configure(User)
        sampler = CountingSampler()
        generate(engine, ScriptedModel(tok, target), sampler)
        outputs.append(engine.steppers[0].text)
        calls.append(sampler.calls)
    assert outputs == [target, target]
    assert calls[1] < calls[0], calls


def test_multi_token_mapping_records_the_forced_tokens(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok, multi_token_sampling=True)
    engine.configure(User)
    scores = ScriptedModel(tok, '{"name":"ab","age":7}').logits([b""])
    out = engine.sample(engine.process_logits([[1]], scores), CountingSampler())
    assert isinstance(out, list) and len(out) == 1
    tokens = [int(t) for t in out[0]]
    # the sampled '{"' then the forced key; the value's opening quote is left to the model
    # (healed: a longer token that starts with it is allowed there)
    assert tok.decode(tokens) == b'{"name":'
    assert engine.multi_token_mapping == {tokens[0]: tokens}


def test_invalid_sample_is_resampled_with_the_rejected_token_masked(tok: TokenizerInfo) -> None:
    special = sorted(tok.special_token_ids - set(tok.eos_token_ids))[0]
    engine = StructuringEngine(tok)
    engine.configure(User)
    scores = ScriptedModel(tok, '{"name":"ab","age":7}').logits([b""])
    scores[0, tok.vocab_size :] = -1.0  # no padding favourites here
    scores[0, special] = 1e9  # the raw favourite is a control token the structure refuses

    sampler = CountingSampler()
    out = engine.sample(scores, sampler)  # no process_logits: sample checks by itself
    assert tok.decode([int(out[0])]) == b'{"'
    assert sampler.calls == 2
    assert sampler.seen[1][0, special] == -np.inf  # the second call had it masked


def test_after_max_resample_attempts_the_best_valid_token_is_used(tok: TokenizerInfo) -> None:
    special = sorted(tok.special_token_ids - set(tok.eos_token_ids))[0]
    for attempts in (0, 3):
        engine = StructuringEngine(tok, max_resample_attempts=attempts)
        engine.configure(User)
        sampler = CountingSampler(bad=[special], always_bad=True)
        target = '{"name":"ab","age":7}'
        generate(engine, ScriptedModel(tok, target), sampler, use_process_logits=False)
        assert engine.steppers[0].text == target
        steps = len(engine.steppers[0].token_ids)
        assert sampler.calls == steps * (attempts + 1)


def test_framework_sampled_tokens_are_read_from_input_ids(
    engine: StructuringEngine, tok: TokenizerInfo
) -> None:
    engine.configure(User)
    model = ScriptedModel(tok, '{"name":"ab","age":7}')
    ids = [5, 6]
    done = b""
    for _ in range(50):
        scores = engine.process_logits(np.array(ids), model.logits([done])[0])
        t = int(np.argmax(scores))  # the "framework" samples
        if t in tok.eos_token_ids:
            break
        ids.append(t)
        done += tok.token_bytes[t]
    assert done == b'{"name":"ab","age":7}'
    engine.process_logits(np.array(ids), model.logits([done])[0])
    assert engine.steppers[0].text == done.decode()
    assert engine.has_reached_accept_state and engine.is_terminated


def test_a_framework_token_outside_the_mask_is_a_clear_error(
    engine: StructuringEngine, tok: TokenizerInfo
) -> None:
    engine.configure(User)
    scores = np.zeros(tok.logits_width, dtype=np.float32)
    engine.process_logits([9, 9], scores)
    bad = tok.tokenize("x")[0]  # JSON cannot start with x
    with pytest.raises(ConstraintError, match="not allowed by the structure"):
        engine.process_logits([9, 9, bad], np.zeros(tok.logits_width, dtype=np.float32))


def test_other_input_ids_start_a_new_generation(
    engine: StructuringEngine, tok: TokenizerInfo
) -> None:
    engine.configure(User)
    first = tok.tokenize('{"')[0]
    engine.process_logits([1, 2], np.zeros(tok.logits_width, dtype=np.float32))
    engine.process_logits([1, 2, first], np.zeros(tok.logits_width, dtype=np.float32))
    assert engine.steppers[0].text == '{"'
    engine.process_logits([7, 7, 7, 7], np.zeros(tok.logits_width, dtype=np.float32))
    assert engine.steppers[0].token_ids == []


# --- control tokens ---------------------------------------------------------------------------


def test_eos_is_allowed_exactly_when_the_structure_accepts(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(ConstraintSpec.regex("a+"))
    eos = set(tok.eos_token_ids)
    a = tok.tokenize("a")[0]
    zeros = np.zeros((1, tok.logits_width), dtype=np.float32)
    mask = np.isfinite(engine.process_logits(None, zeros.copy())[0])
    assert not any(mask[list(eos)]) and mask[a]
    engine.sample(
        np.where(np.arange(tok.logits_width) == a, 1.0, 0.0)[None, :].astype(np.float32),
        CountingSampler(),
    )
    mask = np.isfinite(engine.process_logits(None, zeros.copy())[0])
    assert all(mask[list(eos)]) and mask[a]
    assert not mask[tok.vocab_size :].any()  # padding columns are always masked
    specials = sorted(tok.special_token_ids - eos)
    assert not mask[specials].any()


def test_whitelisted_control_tokens_pass_through(tok: TokenizerInfo) -> None:
    control = sorted(tok.special_token_ids - set(tok.eos_token_ids))[0]
    name = tok.token_bytes[control].decode()
    engine = StructuringEngine(tok, whitelist_control_tokens=[name])
    engine.configure(User)
    logits = np.zeros((1, tok.logits_width), dtype=np.float32)
    masked = engine.process_logits(None, logits.copy())
    assert np.isfinite(masked[0, control])
    logits[0, control] = 5.0
    out = engine.sample(logits, CountingSampler())
    assert int(out[0]) == control and engine.steppers[0].text == ""
    assert run(engine, '{"name":"ab","age":7}') == '{"name":"ab","age":7}'
    with pytest.raises(ConfigurationError, match="not a control token"):
        StructuringEngine(tok, whitelist_control_tokens=["<nope>"])


# --- delimiters, stateful and live output -----------------------------------------------------


def test_delimiters_with_free_text_before(engine: StructuringEngine) -> None:
    engine.configure(User, delimiters=("<json>", "</json>"))
    lives: list[tuple[str, str] | None] = []
    target = 'Let me see. <json>{"name":"ab","age":7}</json>'
    generate(
        engine,
        ScriptedModel(engine.tokenizer_info, target),
        CountingSampler(),
        on_step=lambda: lives.append(engine.get_live_structured_output()),
    )
    assert engine.steppers[0].text == target
    assert list(engine.get_stateful_structured_output()) == [
        ("text", "Let me see. "),
        ("json", {"name": "ab", "age": 7}),
    ]
    assert list(engine.get_stateful_structured_output(User)) == [
        ("text", "Let me see. "),
        ("json", User(name="ab", age=7)),
    ]
    assert engine.get_structured_output(User) == User(name="ab", age=7)
    labels = [live[0] for live in lives if live]
    assert (
        labels[0] == "text"
        and labels[-1] == "json"
        and labels == sorted(labels, key=lambda x: x != "text")
    )
    body = '{"name":"ab","age":7}'
    partial = [text for label, text in filter(None, lives) if label == "json"]
    assert any(0 < len(t) < len(body) and body.startswith(t) for t in partial), partial


def test_buffer_length_limits_the_free_text(engine: StructuringEngine) -> None:
    engine.configure(User, delimiters=("<json>", "</json>"), buffer_length=4)
    text = run(engine, 'Well, let me think about it <json>{"name":"ab","age":7}</json>')
    free, rest = text.split("<json>", 1)
    assert len(free) <= 4
    assert rest.endswith("</json>") and User.model_validate_json(rest[: -len("</json>")])
    engine.configure(User, delimiters=("<json>", "</json>"), buffer_length=-1)
    assert run(engine, 'Hi <json>{"name":"ab","age":7}</json>').startswith("<json>{")


def test_live_output_is_none_before_generation(engine: StructuringEngine) -> None:
    engine.configure(User)
    assert engine.get_live_structured_output() is None
    assert engine.get_structured_output() is None
    assert list(engine.get_stateful_structured_output()) == []
    with pytest.raises(StructuredOutputParseError, match="not been generated"):
        engine.get_structured_output(raise_on_error=True)


def test_incomplete_output_is_returned_raw_or_raises(
    engine: StructuringEngine, tok: TokenizerInfo
) -> None:
    engine.configure(User)
    generate(engine, ScriptedModel(tok, '{"name":"ab","age":7}'), CountingSampler(), max_steps=3)
    assert not engine.has_reached_accept_state
    raw = engine.get_structured_output()
    assert isinstance(raw, str) and raw.startswith('{"name":')
    with pytest.raises(StructuredOutputParseError, match="does not parse as JSON"):
        engine.get_structured_output(raise_on_error=True)


# --- state: reset, steppers, batch ------------------------------------------------------------


def test_reset_and_hard_reset(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    engine.configure(User)
    assert run(engine, '{"name":"ab","age":7}') == '{"name":"ab","age":7}'
    engine.reset()
    assert engine.state_machine is not None and engine.steppers[0].token_ids == []
    assert not engine.has_reached_accept_state
    assert run(engine, '{"name":"b","age":1}') == '{"name":"b","age":1}'
    engine.reset(hard_reset=True)
    assert engine.state_machine is None and engine.steppers == []
    with pytest.raises(ConfigurationError, match=r"call engine\.configure"):
        engine.sample(np.zeros(tok.logits_width, dtype=np.float32), np.argmax)
    engine.state_machine = Pet  # the setter configures
    assert run(engine, '{"kind":"cat"}') == '{"kind":"cat"}'


def test_steppers_clone_and_restore(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    engine.configure(User)
    model = ScriptedModel(tok, '{"name":"ab","age":7}')
    for _ in range(3):
        engine.sample(
            engine.process_logits(None, model.logits([engine.steppers[0].output_bytes])),
            CountingSampler(),
        )
    saved = [s.clone() for s in engine.steppers]
    mid = engine.steppers[0].text
    first = run(engine, '{"name":"ab","age":7}')
    engine.steppers = saved
    assert engine.steppers[0].text == mid
    generate(engine, model, CountingSampler())
    assert engine.steppers[0].text == first
    with pytest.raises(ConfigurationError, match="EngineStepper"):
        engine.steppers = ["nope"]  # type: ignore[list-item]
    other = StructuringEngine(tok)
    other.configure(Pet)
    with pytest.raises(ConfigurationError, match="another structure"):
        engine.steppers = other.steppers


def test_a_batch_keeps_one_matcher_per_row(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    engine.configure(User)
    targets = ['{"name":"a","age":1}', '{"name":"bb","age":22}', '{"name":"ccc","age":3}']
    generate(engine, ScriptedModel(tok, targets), CountingSampler(), batch=3)
    assert [s.text for s in engine.steppers] == targets
    assert [engine.get_structured_output(User, index=i).age for i in range(3)] == [1, 22, 3]
    with pytest.raises(ConfigurationError, match="this generation has 3"):
        engine.process_logits(None, np.zeros((2, tok.logits_width), dtype=np.float32))


def test_vocabulary_properties(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    assert engine.reverse_vocabulary[ord("a")] == "a"
    assert engine.vocabulary['{"'] == [tok.token_bytes.index(b'{"')]
    assert engine.vocabulary["<|im_end|>"] == [tok.token_bytes.index(b"<|im_end|>")]
    assert len(engine.reverse_vocabulary) == tok.vocab_size


def test_masks_match_the_matcher(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    engine.configure(User)
    masked = engine.process_logits(None, np.zeros(tok.logits_width, dtype=np.float32))
    allowed = set(np.flatnonzero(np.isfinite(masked)).tolist())
    handle = engine.steppers[0].handle.fresh()
    from instructor_py.local import allocate_bitmask

    bm = allocate_bitmask(1, tok.logits_width)
    handle.matcher.fill_next_token_bitmask(bm, 0)
    assert allowed == set(allowed_token_ids(bm[0], tok.vocab_size).tolist()) and allowed


# --- bad input --------------------------------------------------------------------------------


def test_bad_structures(engine: StructuringEngine) -> None:
    with pytest.raises(UnsupportedResponseModelError, match="cannot build a structure from int"):
        engine.configure(42)
    with pytest.raises(UnsupportedResponseModelError, match="bare string is ambiguous"):
        engine.configure('{"type": "object"}')
    with pytest.raises(UnsupportedResponseModelError, match="empty list"):
        engine.configure([])
    with pytest.raises(ConfigurationError, match="unknown option"):
        engine.configure(User, delimeters=("a", "b"))
    with pytest.raises(ConfigurationError, match="pair of strings"):
        engine.configure(User, delimiters="```")
    with pytest.raises(ConfigurationError, match="pass delimiters"):
        engine.configure(User, buffer_length=10)
    with pytest.raises(ConfigurationError, match="buffer_length must be"):
        engine.configure(User, delimiters=("a", "b"), buffer_length=-5)
    with pytest.raises(ConfigurationError, match="delimiters wrap"):
        engine.configure(ConstraintSpec.grammar('start: "x"'), delimiters=("a", "b"))

    def star(*args: int) -> None: ...

    with pytest.raises(UnsupportedResponseModelError, match="named parameters only"):
        engine.configure(star)


def test_bad_scores(engine: StructuringEngine, tok: TokenizerInfo) -> None:
    w = tok.logits_width
    with pytest.raises(ConfigurationError, match=r"call engine\.configure"):
        engine.process_logits(None, np.zeros(w, dtype=np.float32))
    engine.configure(User)
    with pytest.raises(ConfigurationError, match="floating point"):
        engine.process_logits(None, np.zeros(w, dtype=np.int64))
    with pytest.raises(ConfigurationError, match=r"shape \(batch, vocab\)"):
        engine.process_logits(None, np.zeros((1, 1, w), dtype=np.float32))
    with pytest.raises(ConfigurationError, match="numpy array or a torch tensor"):
        engine.process_logits(None, [0.0] * w)
    with pytest.raises(ConfigurationError, match="columns but the tokenizer has"):
        engine.process_logits(None, np.zeros(tok.vocab_size - 1, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="input_ids has shape"):
        engine.process_logits(np.zeros((2, 3), dtype=np.int64), np.zeros((1, w), dtype=np.float32))
    with pytest.raises(ConfigurationError, match="returned 2 token ids for a batch of 1"):
        engine.sample(np.zeros((1, w), dtype=np.float32), lambda x: np.array([1, 2]))
    with pytest.raises(ConfigurationError, match="must return token ids"):
        engine.sample(np.zeros((1, w), dtype=np.float32), lambda x: "a")


def test_bad_engine_arguments(tok: TokenizerInfo) -> None:
    with pytest.raises(ConfigurationError, match="cannot read a vocabulary from object"):
        StructuringEngine(object())
    with pytest.raises(ConfigurationError, match="max_resample_attempts must be >= 0"):
        StructuringEngine(tok, max_resample_attempts=-1)
    with pytest.raises(ConfigurationError, match="list of token strings"):
        StructuringEngine(tok, whitelist_control_tokens="<s>")  # type: ignore[arg-type]


def test_stepper_is_public(engine: StructuringEngine) -> None:
    engine.configure(User)
    assert isinstance(engine.steppers[0], EngineStepper)
    assert "0 tokens" in repr(engine.steppers[0])
    assert "json_schema" in repr(engine)


def test_a_whitelisted_eos_ends_the_row_early(tok: TokenizerInfo) -> None:
    eos = tok.eos_token_ids[0]
    engine = StructuringEngine(tok, whitelist_control_tokens=[tok.token_bytes[eos].decode()])
    engine.configure(User)
    logits = np.zeros((1, tok.logits_width), dtype=np.float32)
    assert np.isfinite(engine.process_logits(None, logits.copy())[0, eos])  # open structure
    logits[0, eos] = 9.0
    assert int(engine.sample(logits, CountingSampler())[0]) == eos
    st = engine.steppers[0]
    assert st.finished and st.is_terminated() and not st.is_accepting()
    masked = engine.process_logits(None, np.zeros((1, tok.logits_width), dtype=np.float32))
    assert set(np.flatnonzero(np.isfinite(masked[0]))) == set(tok.eos_token_ids)
    assert engine.is_terminated and not engine.has_reached_accept_state


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_score_dtypes_and_strided_views(tok: TokenizerInfo, dtype: type) -> None:
    engine = StructuringEngine(tok)
    engine.configure(ConstraintSpec.choice(["ab", "name"]))
    # a strided view like llama-cpp-python's token-data records (id, logit, p)
    records = np.zeros(tok.logits_width, dtype=[("id", np.int32), ("logit", dtype), ("p", dtype)])
    view = records["logit"]
    assert not view.flags["C_CONTIGUOUS"]
    out = engine.process_logits(None, view)
    assert out is view
    allowed = {tok.token_bytes[t] for t in np.flatnonzero(np.isfinite(records["logit"]))}
    assert allowed and all(b"ab".startswith(t) or b"name".startswith(t) for t in allowed)


def test_ids_after_a_first_sample_are_not_read_twice(
    engine: StructuringEngine, tok: TokenizerInfo
) -> None:
    engine.configure(User)
    model = ScriptedModel(tok, '{"name":"ab","age":7}')
    first = int(engine.sample(model.logits([b""]), CountingSampler())[0])  # no ids yet
    engine.process_logits(np.array([1, 2, first]), model.logits([b'{"']))
    assert engine.steppers[0].token_ids == [first] and engine.steppers[0].start == 2


def test_assigned_multi_token_mapping_extends_the_sample(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok, multi_token_sampling=True)
    engine.configure(ConstraintSpec.regex("(ab|a)+"))
    a, b = tok.token_bytes.index(b"a"), tok.token_bytes.index(b"b")
    scores = np.zeros(tok.logits_width, dtype=np.float32)
    scores[a] = 5.0
    engine.process_logits(None, scores)
    engine.multi_token_mapping = {a: [a, b, b, a]}
    out = [int(t) for t in engine.sample(scores, CountingSampler())]
    assert out == [a, b]  # extended as far as the structure allows ("abb" is not)
    assert engine.multi_token_mapping == {a: [a, b]}
    eos = tok.eos_token_ids[0]
    engine.multi_token_mapping = {a: [a, eos]}
    assert [int(t) for t in engine.sample(scores, CountingSampler())] == [a, eos]
    assert engine.steppers[0].finished and engine.get_structured_output() == "aba"
    with pytest.raises(ConfigurationError, match="token ids to lists"):
        engine.multi_token_mapping = {a: "x"}  # type: ignore[dict-item]


def test_configure_again_with_the_structure_object(engine: StructuringEngine) -> None:
    engine.configure(User, delimiters=("<j>", "</j>"))
    structure = engine.state_machine
    assert structure is not None and structure.delimiters == ("<j>", "</j>")
    assert structure.source is User and structure.label == "json"
    engine.configure(structure)
    assert engine.state_machine == structure
    with pytest.raises(ConfigurationError, match="already holds its options"):
        engine.configure(structure, buffer_length=3)
