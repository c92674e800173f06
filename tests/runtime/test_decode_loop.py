"""The decode loop on the embedded model with constraints compiled through the engine's public API
(regex, choice, JSON schema): fast-forward, sample-first exactness, KV-cache reuse, UTF-8 safety."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from instructor_py.common.errors import ContextOverflowError
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions
from instructor_py.runtime.model import LocalModel
from instructor_py.runtime.sampling import SamplingParams
from instructor_py.runtime.session import session_for
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(120)]

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer"},
        "city": {"type": "string", "maxLength": 40},
        "languages": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
    },
    "required": ["name", "age", "city", "languages"],
    "additionalProperties": False,
}


def _prompt(model: LocalModel, text: str) -> list[int]:
    return session_for(model).render([{"role": "user", "content": text}])


def _text(chunks: list[DecodeChunk]) -> str:
    return "".join(c.text for c in chunks)


def test_regex_constraint_via_engine_api(model: LocalModel) -> None:
    orchestrator = StructuredOutputOrchestrator(TokenizerInfo.from_llama(model.llama))
    handle = orchestrator.compile_regex(r"\(\d{3}\) \d{3}-\d{4}")
    prompt = _prompt(model, "Write a US phone number.")
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=40)))
    assert chunks[-1].finish_reason == "stop"
    assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", _text(chunks)), _text(chunks)
    assert handle.matcher.is_terminated()


def test_choice_constraint_via_engine_api(model: LocalModel) -> None:
    handle = model.orchestrator.compile(ConstraintSpec.choice(["positive", "negative", "neutral"]))
    prompt = _prompt(
        model, "Sentiment of 'I love this phone, it is great!' (positive/negative/neutral)?"
    )
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=10)))
    assert _text(chunks) in {"positive", "negative", "neutral"}
    assert chunks[-1].finish_reason == "stop"


def test_fast_forward_is_as_valid_with_fewer_forward_passes(model: LocalModel) -> None:
    prompt = _prompt(
        model, "Extract as JSON: Ada Lovelace, 36, lives in London and speaks English and French."
    )
    results = {}
    for ff in (True, False):
        session_for(model).clear_cache()
        handle = model.compile(ConstraintSpec.json_schema(PERSON_SCHEMA))
        chunks = list(
            session_for(model).generate(
                prompt, handle, DecodeOptions(max_tokens=120, fast_forward=ff)
            )
        )
        assert chunks[-1].finish_reason == "stop"
        stats = chunks[-1].stats
        assert stats is not None
        jsonschema.validate(json.loads(_text(chunks)), PERSON_SCHEMA)
        results[ff] = stats
    with_ff, without_ff = results[True], results[False]
    assert with_ff.forced_tokens > 0 and without_ff.forced_tokens == 0
    assert with_ff.forward_passes < without_ff.forward_passes
    # the forced tokens are exactly the passes saved: one pass per sampled token (+ the prompt),
    # less the healed tokens evaluated ahead that the model then chose
    assert with_ff.forward_passes == with_ff.sampled_tokens - with_ff.healing_hits


def test_jump_forward_forces_the_separator_llguidance_leaves_out(model: LocalModel) -> None:
    """llguidance's forced tokens stop before the ``":"`` after a key; jump-forward tokenizes the
    forced bytes and forces them too, so the model never samples grammar punctuation there."""
    probe = model.compile(ConstraintSpec.json_schema(PERSON_SCHEMA)).matcher
    assert probe.accept_tokens(probe.compute_ff_tokens())
    assert probe.compute_ff_bytes() == b'":"'  # what compute_ff_tokens left out
    prompt = _prompt(model, "Extract as JSON: Alan Turing, 41, lives in Wilmslow, speaks English.")
    results = {}
    for jump in (True, False):
        session_for(model).clear_cache()
        handle = model.compile(ConstraintSpec.json_schema(PERSON_SCHEMA))
        chunks = list(
            session_for(model).generate(
                prompt, handle, DecodeOptions(max_tokens=120, jump_forward=jump)
            )
        )
        assert chunks[-1].finish_reason == "stop"
        stats = chunks[-1].stats
        assert stats is not None
        text = _text(chunks)
        jsonschema.validate(json.loads(text), PERSON_SCHEMA)
        first_sampled = next(c for c in chunks[1:] if c.token_ids).token_ids[0]
        results[jump] = (stats, model.token_bytes(first_sampled))
    (jf, jf_first), (plain, plain_first) = results[True], results[False]
    # without jump-forward the first sampled token is the separator after "name"; with it, the
    # separator and the opening quote were forced and the first sampled token is the value
    assert plain_first.startswith(b'":')
    assert not jf_first.startswith(b'"')
    assert jf.forward_passes < plain.forward_passes
    assert jf.forward_passes == jf.sampled_tokens - jf.healing_hits


TRIP_SCHEMA = {
    "type": "object",
    "properties": {
        "cities": {"type": "array", "items": {"type": "string"}},
        "days": {"type": "integer"},
    },
    "required": ["cities", "days"],
    "additionalProperties": False,
}


def test_a_healed_token_evaluated_ahead_is_kept_when_chosen_and_dropped_when_not(
    model: LocalModel,
) -> None:
    """A token that healing leaves to the model (``' ['`` before a list) is evaluated ahead in
    the forced tokens' pass. When the model chooses it, its pass is saved; when it chooses a
    longer one (``' ["'``), the KV cache drops it: the cache always holds exactly the prompt
    and the output, and the output stays valid."""
    prompt = _prompt(model, "We fly to Tokyo and Osaka for 10 days. Extract as JSON.")
    session_for(model).clear_cache()
    handle = model.compile(ConstraintSpec.json_schema(TRIP_SCHEMA, whitespace="spaced"))
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=80)))
    stats = chunks[-1].stats
    assert stats is not None and chunks[-1].finish_reason in ("stop", "repetition")
    out = [t for c in chunks for t in c.token_ids]
    assert b'":' + b' ["' in b"".join(model.token_bytes(t) for t in out)  # healed, not ' [' + '"'
    assert stats.healed_tokens > stats.healing_hits >= 1  # a miss (' ["') and hits
    assert stats.forward_passes == stats.sampled_tokens - stats.healing_hits
    cached = list(session_for(model).decoder.cached_tokens)
    assert cached == [*prompt, *out][: len(cached)] and len(cached) >= len(prompt) + len(out) - 1
    if chunks[-1].finish_reason == "stop":
        jsonschema.validate(json.loads(_text(chunks)), TRIP_SCHEMA)


def test_sample_first_is_exact_under_greedy(model: LocalModel) -> None:
    prompt = _prompt(model, "Extract as JSON: Grace Hopper, 85, New York, speaks English.")
    outputs = []
    for sample_first in (True, False):
        # the same KV-cache history for both runs: a reused prefix evaluates the prompt in other
        # batch shapes, whose float rounding can flip a near-tie between two greedy candidates
        session_for(model).clear_cache()
        handle = model.compile(ConstraintSpec.json_schema(PERSON_SCHEMA))
        chunks = list(
            session_for(model).generate(
                prompt, handle, DecodeOptions(max_tokens=120, sample_first=sample_first)
            )
        )
        stats = chunks[-1].stats
        assert stats is not None
        outputs.append(([t for c in chunks for t in c.token_ids], stats))
    (tokens_sf, stats_sf), (tokens_mask, stats_mask) = outputs
    assert tokens_sf == tokens_mask  # identical greedy choices
    assert stats_sf.masks_computed < stats_mask.masks_computed
    assert stats_mask.masks_computed == stats_mask.sampled_tokens


def test_kv_prefix_is_reused_between_calls(model: LocalModel) -> None:
    session_for(model).clear_cache()
    base = [{"role": "user", "content": "Name three colours."}]
    first = session_for(model).render(base)
    chunks = list(session_for(model).generate(first, None, DecodeOptions(max_tokens=8)))
    stats1 = chunks[-1].stats
    assert stats1 is not None and stats1.reused_tokens == 0
    answer = _text(chunks)
    follow = session_for(model).render(
        [*base, {"role": "assistant", "content": answer}, {"role": "user", "content": "Again."}]
    )
    stats2 = list(session_for(model).generate(follow, None, DecodeOptions(max_tokens=4)))[-1].stats
    assert stats2 is not None
    assert stats2.reused_tokens >= len(first) - 1
    assert stats2.evaluated_tokens < len(follow) - len(first) + 8


def test_stochastic_sampling_is_seeded_and_respects_the_grammar(model: LocalModel) -> None:
    prompt = _prompt(model, "Pick a colour.")
    texts = []
    for _ in range(2):
        handle = model.compile(ConstraintSpec.choice(["red", "green", "blue", "yellow"]))
        params = SamplingParams(temperature=1.5, top_p=0.95, top_k=50, seed=7)
        chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(sampling=params)))
        texts.append(_text(chunks))
    assert texts[0] == texts[1]
    assert texts[0] in {"red", "green", "blue", "yellow"}


def test_multibyte_text_is_never_split(model: LocalModel) -> None:
    options = ["café crème", "naïve 😀 emoji", "日本語のテキスト"]
    handle = model.compile(ConstraintSpec.choice(options))
    prompt = _prompt(model, "Say something in Japanese.")
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(fast_forward=False)))
    pieces = [c.text for c in chunks]
    assert "".join(pieces) in options
    assert all("\ufffd" not in p for p in pieces)


def test_max_tokens_truncates_with_length(model: LocalModel) -> None:
    handle = model.compile(ConstraintSpec.json_schema(PERSON_SCHEMA))
    prompt = _prompt(model, "Extract as JSON: Alan Turing, 41, Manchester, speaks English.")
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=6)))
    assert chunks[-1].finish_reason == "length"
    assert sum(len(c.token_ids) for c in chunks) == 6
    assert not handle.matcher.is_terminated()


def test_prompt_longer_than_context_is_rejected(model: LocalModel) -> None:
    with pytest.raises(ContextOverflowError, match="larger n_ctx"):
        list(
            session_for(model).generate([1] * (model.n_ctx + 5), None, DecodeOptions(max_tokens=4))
        )
