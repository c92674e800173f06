"""`forced_tokens`: the one implementation of "accept what the grammar forces" shared by the
decode loop and `StructuringEngine` (llguidance matchers over the SmolLM2 tokenizer)."""

from __future__ import annotations

import pytest

from instructor_py.common.errors import ConstraintError
from instructor_py.engine.forcing import forced_tokens
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "additionalProperties": False,
}


def _text(info: TokenizerInfo, tokens: list[int]) -> bytes:
    return b"".join(info.token_bytes[t] for t in tokens)


def test_forces_the_whole_literal_prefix_with_a_tokenizer(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    m = smol_orch.compile(ConstraintSpec.json_schema(SCHEMA, whitespace="compact")).matcher
    ff_only = smol_orch.compile(ConstraintSpec.json_schema(SCHEMA, whitespace="compact")).matcher
    eos = frozenset(smol.eos_token_ids)
    full = forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize)
    short = forced_tokens(ff_only, end_tokens=eos)
    assert _text(smol, full) == b'{"name":"'
    # without a tokenizer only llguidance's forced tokens: a strict prefix of the same text
    assert b'{"name":"'.startswith(_text(smol, short)) and len(short) < len(full)
    assert m.tokens_accepted == len(full) and ff_only.tokens_accepted == len(short)
    # the matcher was advanced: the value's first character is allowed, a quote ends it
    assert m.accept_tokens(smol.tokenize('Jo"}'))
    assert m.is_accepting()


def test_limit_and_end_tokens(smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator) -> None:
    eos = frozenset(smol.eos_token_ids)
    m = smol_orch.compile(ConstraintSpec.json_schema(SCHEMA, whitespace="compact")).matcher
    assert len(forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize, limit=1)) == 1
    assert m.tokens_accepted == 1
    done = smol_orch.compile(ConstraintSpec.regex("abc")).matcher
    assert done.accept_tokens(smol.tokenize("abc")) and done.is_terminated()
    # only an end-of-sequence token is left: it is never forced
    assert forced_tokens(done, end_tokens=eos, tokenize=smol.tokenize) == []
    assert done.tokens_accepted == len(smol.tokenize("abc"))


def test_the_callers_accept_records_the_tokens_and_a_refusal_is_an_error(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    eos = frozenset(smol.eos_token_ids)
    m = smol_orch.compile(ConstraintSpec.json_schema(SCHEMA, whitespace="compact")).matcher
    seen: list[int] = []

    def accept(tokens: list[int]) -> bool:
        seen.extend(tokens)
        return m.accept_tokens(tokens)

    out = forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize, accept=accept)
    assert seen == out and _text(smol, out) == b'{"name":"'
    fresh = smol_orch.compile(ConstraintSpec.json_schema(SCHEMA, whitespace="compact")).matcher
    with pytest.raises(ConstraintError, match="rejected its own forced tokens"):
        forced_tokens(fresh, end_tokens=eos, accept=lambda _tokens: False)
