"""Token healing at the end of a forced text (`instructor_py.engine.healing`, `LLGuidanceMatcher.heal`,
`forced_tokens`): the last forced token is left to the model when a longer allowed token starts
with its bytes, and the model's next token must then start with those bytes."""

from __future__ import annotations

from instructor_py.engine.bitmask import allocate_bitmask, allowed_token_ids, is_token_allowed
from instructor_py.engine.forcing import forced_tokens
from instructor_py.engine.healing import PrefixIndex, prefix_index
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo

TAGS = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["tags"],
    "additionalProperties": False,
}


def test_prefix_index_finds_every_token_that_starts_with_the_bytes() -> None:
    vocab = [b"a", b"ab", b"abc", b"b", b"\xff", b"\xff\x01", b"", b"<eos>", b"ac"]
    info = TokenizerInfo.from_token_bytes(vocab, eos_token_ids=7, special_token_ids=[7])
    index = PrefixIndex(info)
    assert sorted(index.starting_with(b"a").tolist()) == [0, 1, 2, 8]
    assert sorted(index.starting_with(b"ab").tolist()) == [1, 2]
    assert index.starting_with(b"abcd").tolist() == []
    assert sorted(index.starting_with(b"\xff").tolist()) == [4, 5]  # no successor of 0xff
    assert index.starting_with(b"<").tolist() == []  # special tokens are never healed into
    row = index.mask(b"ab")
    allowed = [t for t in range(len(vocab)) if int(row[t >> 5]) & (1 << (t & 31))]
    assert allowed == [1, 2]
    assert prefix_index(info) is prefix_index(info)  # built once per tokenizer


def test_bit_31_of_a_word_is_handled() -> None:
    vocab = [bytes([65 + i % 26]) * (1 + i // 26) for i in range(64)]
    info = TokenizerInfo.from_token_bytes(vocab, eos_token_ids=63)
    row = PrefixIndex(info).mask(vocab[31])
    assert int(row[0]) & (1 << 31)


def test_the_separator_before_a_list_is_healed(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    """Spaced JSON: after ``{"tags":`` the grammar forces ``' ['``; SmolLM2 writes a list of
    strings as ``' ["'`` + the word, so ``' ['`` is not forced and the next token must start
    with it (a lone space, a non-canonical split, is refused)."""
    m = smol_orch.compile(ConstraintSpec.json_schema(TAGS, whitespace="spaced")).matcher
    eos = frozenset(smol.eos_token_ids)
    out = forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize)
    assert smol.decode(out) == b'{"tags":'
    (bracket,) = smol.tokenize(b" [")
    (bracket_quote,) = smol.tokenize(b' ["')
    (space,) = smol.tokenize(b" ")
    mask = allocate_bitmask(1, smol.vocab_size)
    m.fill_next_token_bitmask(mask, 0)
    assert is_token_allowed(mask[0], bracket) and is_token_allowed(mask[0], bracket_quote)
    assert not is_token_allowed(mask[0], space)
    allowed = allowed_token_ids(mask[0], smol.vocab_size)
    assert len(allowed) > 2 and all(smol.token_bytes[t].startswith(b" [") for t in allowed)
    # nothing more is forced while the heal is pending; the refused token leaves no trace
    assert forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize) == []
    assert m.validate_tokens([space]) == 0 and not m.accept_token(space)
    assert m.accept_token(bracket_quote)
    # after the healed token the grammar goes on as usual
    assert m.accept_tokens(smol.tokenize(b'a"]}')) and m.is_accepting()


def test_a_last_token_nothing_longer_can_follow_is_forced(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    """A constant object: every byte is forced, down to the closing ``}`` (no longer token
    starting with it is allowed at the end), so nothing is left to the model."""
    schema = {
        "type": "object",
        "properties": {"k": {"const": "v"}},
        "required": ["k"],
        "additionalProperties": False,
    }
    m = smol_orch.compile(ConstraintSpec.json_schema(schema, whitespace="compact")).matcher
    out = forced_tokens(m, end_tokens=frozenset(smol.eos_token_ids), tokenize=smol.tokenize)
    assert smol.decode(out) == b'{"k":"v"}'
    assert m.is_accepting() and m.tokens_accepted == len(out)


def test_rollback_reset_and_clone_keep_healing_consistent(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    m = smol_orch.compile(ConstraintSpec.json_schema(TAGS, whitespace="spaced")).matcher
    eos = frozenset(smol.eos_token_ids)
    out = forced_tokens(m, end_tokens=eos, tokenize=smol.tokenize)
    (space,) = smol.tokenize(b" ")
    twin = m.clone()
    assert not twin.accept_token(space)  # the clone keeps the pending heal
    m.rollback(1)  # back before the last forced token: the heal no longer applies
    assert m.accept_tokens(out[-1:]) and m.accept_token(space)
    twin.reset()
    assert twin.accept_tokens(out) and twin.accept_token(space)
