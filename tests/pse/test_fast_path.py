"""The per-token path of `StructuringEngine` (one row given as a 1-D numpy array, the case of
llama-cpp-python and of most hand-written loops) does what the general path does: same tokens,
same text, same resampling, control tokens and errors (synthetic tokenizer, scripted model)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from instructor_py.common.errors import ConfigurationError, ConstraintError
from instructor_py.local import ConstraintSpec, StructuringEngine, TokenizerInfo, allocate_bitmask
from tests.support.scripted_model import CountingSampler, ScriptedModel, generate


class User(BaseModel):
    name: str
    age: int


TARGET = '{"name":"ab","age":7}'


def loop_1d(engine: StructuringEngine, model: ScriptedModel, sampler: Any, ids: bool) -> list[int]:
    """process_logits + sample on 1-D rows (the fast path); ``ids``: pass the 1-D input ids."""
    prompt = [1, 2, 3]
    seq = list(prompt)
    for _ in range(200):
        st = engine.steppers[0]
        scores = model.logits([st.output_bytes])[0]
        scores = engine.process_logits(np.array(seq) if ids else None, scores)
        out = engine.sample(scores, sampler)
        assert isinstance(out, np.ndarray) and out.shape == (1,) and out.dtype == np.int64
        seq.append(int(out[0]))
        if engine.is_terminated:
            break
    return seq[len(prompt) :]


@pytest.mark.parametrize(
    "structure",
    [User, ConstraintSpec.regex(r"[a-c]{2}-[0-9]"), ConstraintSpec.choice(["name", "age"])],
    ids=["json", "regex", "choice"],
)
@pytest.mark.parametrize("ids", [True, False], ids=["input_ids", "no_ids"])
def test_one_d_rows_match_the_batched_path(tok: TokenizerInfo, structure: Any, ids: bool) -> None:
    target = {User: TARGET}.get(structure, "ab-7" if isinstance(structure, ConstraintSpec) else "")
    if isinstance(structure, ConstraintSpec) and structure.kind == "choice":
        target = "age"
    batched = StructuringEngine(tok)
    batched.configure(structure)
    expected = generate(batched, ScriptedModel(tok, target), CountingSampler())[0]
    fast = StructuringEngine(tok)
    fast.configure(structure)
    got = loop_1d(fast, ScriptedModel(tok, target), CountingSampler(), ids)
    assert got == expected
    assert fast.steppers[0].text == batched.steppers[0].text == target
    assert fast.has_reached_accept_state and fast.is_terminated
    assert fast.steppers[0].token_ids == got


@pytest.mark.parametrize(
    "wrap",
    [int, np.int64, np.int32, lambda t: np.array([t]), lambda t: np.array(t)],
    ids=["int", "int64", "int32", "array1", "array0d"],
)
def test_sampler_return_types(tok: TokenizerInfo, wrap: Any) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    model = ScriptedModel(tok, TARGET)
    got = loop_1d(engine, model, lambda x: wrap(int(np.argmax(x))), ids=False)
    assert engine.steppers[0].text == TARGET and engine.is_terminated
    assert tok.decode(got) == TARGET.encode()


@pytest.mark.parametrize("bad", ["text", "control"])
def test_a_token_outside_the_fresh_mask_is_resampled_with_it_masked(
    tok: TokenizerInfo, bad: str
) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    # JSON cannot start with x; a control token that is not whitelisted is never allowed
    x = tok.tokenize("x")[0] if bad == "text" else sorted(tok.special_token_ids)[-1]
    assert x not in tok.eos_token_ids
    calls: list[np.ndarray] = []

    def sampler(row: np.ndarray) -> int:
        calls.append(row.copy())
        return x if len(calls) == 1 else int(np.argmax(row))

    logits = np.zeros(tok.logits_width, dtype=np.float32)
    logits[x] = 100.0
    scores = engine.process_logits(None, logits.copy())
    scores[x] = 100.0  # a sampler that ignores the mask (the scores were edited after masking)
    out = engine.sample(scores, sampler)
    assert len(calls) == 2 and calls[1][x] == -np.inf
    assert tok.token_bytes[int(out[0])] in {b"{", b'{"'} and engine.steppers[0].text.startswith("{")


def test_padding_columns_and_out_of_range_tokens(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    row = np.full(tok.logits_width, 1e6, dtype=np.float32)
    masked = engine.process_logits(None, row)
    assert not np.isfinite(masked[tok.vocab_size :]).any()  # past the vocabulary: always masked
    padding = tok.vocab_size + 1  # a sampler returning a padding column is resampled
    calls: list[int] = []

    def sampler(row: np.ndarray) -> int:
        calls.append(1)
        return padding if len(calls) == 1 else int(np.argmax(row))

    engine.sample(masked, sampler)
    assert len(calls) == 2 and engine.steppers[0].text in ("{", '{"')


def test_sample_without_process_logits_checks_by_itself(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    model = ScriptedModel(tok, TARGET)
    for _ in range(60):  # raw scores every step: the mask is never filled before sample
        out = engine.sample(model.logits([engine.steppers[0].output_bytes])[0], CountingSampler())
        if engine.is_terminated or int(out[0]) in tok.eos_token_ids:
            break
    assert engine.steppers[0].text == TARGET


def test_control_tokens_on_the_fast_path(tok: TokenizerInfo) -> None:
    control = sorted(tok.special_token_ids - set(tok.eos_token_ids))[0]
    eos = tok.eos_token_ids[0]
    engine = StructuringEngine(tok, whitelist_control_tokens=[tok.token_bytes[control].decode()])
    engine.configure(User)
    logits = np.zeros(tok.logits_width, dtype=np.float32)
    logits[control] = 5.0
    masked = engine.process_logits(None, logits.copy())
    assert np.isfinite(masked[control]) and not np.isfinite(masked[eos])  # open structure
    assert int(engine.sample(masked, np.argmax)[0]) == control
    st = engine.steppers[0]
    assert st.token_ids == [control] and st.text == "" and st.matcher.tokens_accepted == 0
    loop_1d(engine, ScriptedModel(tok, TARGET), CountingSampler(), ids=False)
    assert engine.steppers[0].text == TARGET and engine.is_terminated
    # the closed structure allows only EOS (and the whitelisted token); after EOS the row is
    # finished and sample pads with EOS
    for _ in range(2):
        again = engine.process_logits(None, np.zeros(tok.logits_width, dtype=np.float32))
        assert set(np.flatnonzero(np.isfinite(again))) == {*tok.eos_token_ids, control}
        assert int(engine.sample(again, np.argmax)[0]) in tok.eos_token_ids
        assert engine.steppers[0].finished and engine.steppers[0].text == TARGET


def test_mixed_shapes_and_widths_in_one_generation(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    model = ScriptedModel(tok, TARGET)
    for step in range(60):
        row = model.logits([engine.steppers[0].output_bytes])
        if step % 3 == 0:  # a 1-D row
            scores = engine.process_logits(None, row[0])
            out = engine.sample(scores, np.argmax)
        elif step % 3 == 1:  # (1, width)
            scores = engine.process_logits(None, row)
            out = engine.sample(scores, CountingSampler())
        else:  # 1-D masking, then a 2-D sample of the same row
            scores = engine.process_logits(None, row[0])
            out = engine.sample(scores[None, :], CountingSampler())
        if engine.is_terminated or int(np.asarray(out).reshape(-1)[0]) in tok.eos_token_ids:
            break
    assert engine.steppers[0].text == TARGET
    wider = np.zeros(tok.logits_width + 7, dtype=np.float32)  # another width: masked as well
    engine.reset()
    masked = engine.process_logits(None, wider)
    assert not np.isfinite(masked[tok.vocab_size :]).any() and np.isfinite(masked).any()


def test_bad_input_on_the_fast_path(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    w = tok.logits_width
    with pytest.raises(ConfigurationError, match=r"sample: no structure is configured"):
        engine.sample(np.zeros(w, dtype=np.float32), np.argmax)
    engine.configure(User)
    engine.process_logits(None, np.zeros(w, dtype=np.float32))  # the fast path is now set up
    with pytest.raises(ConfigurationError, match="floating point"):
        engine.process_logits(None, np.zeros(w, dtype=np.int32))
    with pytest.raises(ConfigurationError, match="floating point"):
        engine.sample(np.zeros(w, dtype=np.int32), np.argmax)
    with pytest.raises(ConfigurationError, match="columns but the tokenizer has"):
        engine.process_logits(None, np.zeros(w - 6, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="must return token ids"):
        engine.sample(np.zeros(w, dtype=np.float32), lambda _x: "a")
    with pytest.raises(ConfigurationError, match="input_ids must be integer"):
        engine.process_logits(np.array([1.5, 2.5]), np.zeros(w, dtype=np.float32))
    engine.reset(hard_reset=True)
    with pytest.raises(ConfigurationError, match=r"call engine\.configure"):
        engine.process_logits(None, np.zeros(w, dtype=np.float32))


def test_the_output_is_rendered_from_the_token_ids(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    loop_1d(engine, ScriptedModel(tok, TARGET), CountingSampler(), ids=True)
    st = engine.steppers[0]
    assert st.text == TARGET and st.output_bytes == TARGET.encode()  # EOS adds no bytes
    copy = st.clone()
    assert copy.text == TARGET and copy.token_ids == st.token_ids
    copy.token_ids[:] = copy.token_ids[:2]  # a caller cutting the ids back: rendered again
    assert copy.text == tok.decode(copy.token_ids).decode() and st.text == TARGET


def test_consume_allowed_refuses_loudly(tok: TokenizerInfo) -> None:
    engine = StructuringEngine(tok)
    engine.configure(User)
    inner = engine.steppers[0].inner
    bm = allocate_bitmask(1, tok.logits_width)
    inner.fill_next_token_bitmask(bm, 0)
    x = tok.tokenize("x")[0]
    with pytest.raises(ConstraintError, match="refused token"):
        inner.consume_allowed(x)  # type: ignore[attr-defined]


SPY = """
import sys
sys.path.insert(0, {here!r})
tried = []


class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            tried.append(name)
        return None


sys.meta_path.insert(0, Spy())
import numpy as np
from tests.support.masks import synthetic_tokenizer
from instructor_py.local import StructuringEngine

tok = synthetic_tokenizer()
engine = StructuringEngine(tok, multi_token_sampling=True)
engine.configure({{"type": "object", "properties": {{"a": {{"type": "integer"}}}}}})
for shape in ((tok.logits_width,), (1, tok.logits_width)):
    scores = engine.process_logits(np.array([1, 2]), np.zeros(shape, dtype=np.float32))
    engine.sample(scores, lambda x: np.argmax(x, axis=-1))
    engine.reset()
print("tried:", tried, "loaded:", "torch" in sys.modules)
"""


def test_numpy_use_never_imports_torch() -> None:
    """torch is imported only when the caller passes a tensor (it then is imported already): a
    numpy caller's process never even looks for it (an import hook records every attempt)."""
    import subprocess
    import sys
    from pathlib import Path

    code = SPY.format(here=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().endswith("tried: [] loaded: False"), out.stdout + out.stderr
