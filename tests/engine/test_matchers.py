"""Both backends, through the orchestrator, on the synthetic tokenizer."""

from __future__ import annotations

import pytest

from instructor_py.common.errors import TokenOutOfRangeError
from instructor_py.local import (
    CompiledGrammarHandle,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allowed_token_ids,
)
from tests.support.masks import accepts_text, walk

pytest.importorskip("llguidance", reason="llguidance is not installed")
BACKENDS = [
    "llguidance",
    pytest.param(
        "outlines",
        marks=pytest.mark.skipif(
            __import__("importlib").util.find_spec("outlines_core") is None,
            reason="outlines-core is not installed",
        ),
    ),
]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def compile_with(
    orch: StructuredOutputOrchestrator, backend: str, spec: ConstraintSpec
) -> CompiledGrammarHandle:
    orch.register_backend(orch.get_backend(backend), set_as_default=True)
    handle = orch.compile(spec)
    assert handle.backend == backend and handle.exact
    return handle


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"name":"Bob","age":42}', True),
        ('{"name":"Bob","age":42,"tags":["a","b"]}', True),
        ('{"name":"Bob","age":-7}', True),
        ('{"name":"Bob"}', False),  # missing required
        ('{"name":"Bob","age":4.5}', False),  # not an integer
        ('{"name":"Bob","age":1,"x":1}', False),  # additional property
        ('{"name":"Bob","age":1,"tags":["c"]}', False),  # not in enum
        ('{"name":Bob,"age":1}', False),  # not JSON
    ],
)
def test_json_schema_accepts_valid_rejects_invalid(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str, text: str, ok: bool
) -> None:
    handle = compile_with(orch, backend, ConstraintSpec.json_schema(PERSON))
    assert accepts_text(handle.matcher, tok, text) is ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_regex(orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str) -> None:
    spec = ConstraintSpec.regex(r"[0-9]{3}-[a-z]+")
    for text, ok in [("123-abc", True), ("12-abc", False), ("123-", False), ("123-ab9", False)]:
        handle = compile_with(orch, backend, spec)
        assert accepts_text(handle.matcher, tok, text) is ok, text


@pytest.mark.parametrize("backend", BACKENDS)
def test_choice(orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str) -> None:
    spec = ConstraintSpec.choice(["red", "green", "a.b (c)"])
    for text, ok in [
        ("red", True),
        ("green", True),
        ("a.b (c)", True),
        ("gre", False),
        ("blue", False),
        ("axb (c)", False),
    ]:
        handle = compile_with(orch, backend, spec)
        assert accepts_text(handle.matcher, tok, text) is ok, text


@pytest.mark.parametrize("backend", BACKENDS)
def test_rollback_reset_clone_validate(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    m = compile_with(orch, backend, ConstraintSpec.json_schema(PERSON)).matcher
    good = tok.tokenize('{"name":"Bob","age":42}')
    bad = tok.tokenize('{"name":"Bob","zz":42}')
    assert m.validate_tokens(good) == len(good)
    assert m.validate_tokens(bad) < len(bad)
    assert m.tokens_accepted == 0  # validate changes nothing
    assert m.accept_tokens(good[:5])
    fork = m.clone()
    assert m.accept_tokens(good[5:]) and m.is_accepting()
    assert fork.tokens_accepted == 5 and not fork.is_accepting()  # the clone is independent
    assert fork.accept_tokens(good[5:]) and fork.is_accepting()
    m.rollback(len(good) - 5)
    assert m.tokens_accepted == 5 and not m.is_accepting()
    assert m.accept_tokens(good[5:]) and m.is_accepting()
    with pytest.raises(ValueError, match="only"):
        m.rollback(len(good) + 1)
    m.reset()
    assert m.tokens_accepted == 0
    assert walk(m, tok, good) == len(good)


@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_token_changes_nothing(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    m = compile_with(orch, backend, ConstraintSpec.regex("ab+")).matcher
    assert not m.accept_token(tok.token_bytes.index(b"z"))
    assert m.get_error() is None and m.tokens_accepted == 0
    assert accepts_text(m, tok, "abbb")


@pytest.mark.parametrize("backend", BACKENDS)
def test_eos_terminates_and_rolls_back(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    m = compile_with(orch, backend, ConstraintSpec.regex("a+")).matcher
    eos_a, eos_b = tok.eos_token_ids
    assert not m.accept_token(eos_a)  # nothing yet: EOS not allowed
    assert m.accept_tokens(tok.tokenize("aa")) and m.is_accepting() and not m.is_terminated()
    assert m.accept_token(eos_b)  # any of the EOS ids
    assert m.is_terminated() and m.tokens_accepted == 3
    assert not m.accept_token(tok.tokenize("a")[0])
    m.rollback(1)
    assert not m.is_terminated() and m.accept_token(tok.tokenize("a")[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_token(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    m = compile_with(orch, backend, ConstraintSpec.regex("a+")).matcher
    with pytest.raises(TokenOutOfRangeError, match=str(tok.vocab_size)):
        m.accept_token(tok.vocab_size)  # inside the logits width, outside the vocabulary
    with pytest.raises(TokenOutOfRangeError):
        m.accept_tokens([-3])
    with pytest.raises(TokenOutOfRangeError):
        m.validate_tokens([10**9])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mask_never_allows_past_the_vocabulary(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    m = compile_with(orch, backend, ConstraintSpec.regex("[^x]*")).matcher
    mask = orch.allocate_bitmask(1)
    mask[:] = -1  # garbage from a previous step
    m.fill_next_token_bitmask(mask, 0)
    ids = allowed_token_ids(mask[0], mask.shape[1] * 32)
    assert ids.max() < tok.vocab_size
    assert tok.token_bytes.index(b"x") not in ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_forced_tokens(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo, backend: str
) -> None:
    # "xyz" has exactly one tokenization in the synthetic vocabulary, so every backend forces it
    m = compile_with(orch, backend, ConstraintSpec.regex("xyz[0-9]")).matcher
    ff = m.compute_ff_tokens()
    assert tok.decode(ff) == b"xyz"
    assert m.tokens_accepted == 0
    assert m.accept_tokens(ff)


def test_llguidance_json_ff_tokens(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    m = compile_with(orch, "llguidance", ConstraintSpec.json_schema(PERSON)).matcher
    assert tok.decode(m.compute_ff_tokens()).startswith(b'{"name')


def test_lark_grammar(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    grammar = r"""
start: greeting " " NAME "!"
greeting: "hi" | "hello"
NAME: /[a-z]+/
"""
    spec = ConstraintSpec.grammar(grammar, "lark")
    for text, ok in [
        ("hi bob!", True),
        ("hello ab!", True),
        ("hey bob!", False),
        ("hi Bob!", False),
        ("hi bob", False),
    ]:
        assert accepts_text(orch.compile(spec).matcher, tok, text) is ok, text


def test_gbnf_grammar(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    grammar = 'root ::= "[" item ("," item)* "]"\nitem ::= [0-9]+'
    spec = ConstraintSpec.grammar(grammar, "gbnf")
    for text, ok in [
        ("[1]", True),
        ("[12,3,456]", True),
        ("[]", False),
        ("[1,]", False),
        ("[a]", False),
    ]:
        assert accepts_text(orch.compile(spec).matcher, tok, text) is ok, text


def test_flexible_whitespace(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    compact = orch.compile_json_schema(schema)
    assert not accepts_text(compact.matcher, tok, '{ "a": 1 }')
    flexible = orch.compile_json_schema(schema, whitespace="flexible")
    assert accepts_text(flexible.matcher, tok, '{ "a": 1 }')
    assert accepts_text(
        orch.compile_json_schema(schema, whitespace="flexible").matcher, tok, '{"a":1}'
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_bitmask_arguments(orch: StructuredOutputOrchestrator, backend: str) -> None:
    import numpy as np

    from instructor_py.common.errors import ConfigurationError

    m = compile_with(orch, backend, ConstraintSpec.regex("a+")).matcher
    good = orch.allocate_bitmask(2)
    m.fill_next_token_bitmask(good, 1)
    with pytest.raises(ConfigurationError, match="row 2"):
        m.fill_next_token_bitmask(good, 2)
    with pytest.raises(ConfigurationError, match="int32"):
        m.fill_next_token_bitmask(good.astype(np.int64), 0)
    with pytest.raises(ConfigurationError, match="contiguous"):
        m.fill_next_token_bitmask(np.zeros((2, 40), dtype=np.int32)[:, ::2], 0)
    with pytest.raises(ConfigurationError, match="needs"):
        m.fill_next_token_bitmask(np.zeros((1, 2), dtype=np.int32), 0)
