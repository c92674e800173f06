"""A small synthetic byte-level tokenizer and a mask walker (engine, PSE, guidance and CBISON tests)."""

from __future__ import annotations

from instructor_py.local import Matcher, TokenizerInfo, allocate_bitmask, is_token_allowed

MERGES = [b'{"', b'":', b'",', b'"}', b"name", b"age", b"true", b"false", b"null", b"  ", b"ab"]
SPECIALS = [b"<|im_end|>", b"<|endoftext|>", b"<s>"]


def synthetic_tokenizer() -> TokenizerInfo:
    """256 single bytes, a few merges, 3 specials (two EOS), logits 5 wider than the vocabulary."""
    tokens = [bytes([i]) for i in range(256)] + MERGES + SPECIALS
    n = len(tokens)
    return TokenizerInfo.from_token_bytes(
        tokens,
        eos_token_ids=[n - 3, n - 2],
        special_token_ids=[n - 1],
        bos_token_id=n - 1,
        logits_width=n + 5,
        name="synthetic",
    )


def walk(matcher: Matcher, info: TokenizerInfo, token_ids: list[int]) -> int:
    """Feed ``token_ids`` one by one, each first checked against the mask.

    Returns how many were allowed (stops at the first token the mask refuses). Asserts that
    accept_token takes every token the mask allows. (The converse need not hold: llguidance's mask
    only offers the canonical tokenization of grammar-forced bytes, while accept_token also takes
    other byte-valid tokens.)
    """
    mask = allocate_bitmask(1, info.logits_width)
    for k, t in enumerate(token_ids):
        matcher.fill_next_token_bitmask(mask, 0)
        if not is_token_allowed(mask[0], t):
            return k
        assert matcher.accept_token(t), (
            f"the mask allows token {t} at {k} but accept_token refuses it"
        )
    return len(token_ids)


def accepts_text(matcher: Matcher, info: TokenizerInfo, text: str) -> bool:
    """Whether ``text`` (tokenized with ``info``) is accepted to the end and EOS may follow."""
    ids = info.tokenize(text)
    if walk(matcher, info, ids) != len(ids):
        return False
    mask = allocate_bitmask(1, info.logits_width)
    matcher.fill_next_token_bitmask(mask, 0)
    return matcher.is_accepting() and is_token_allowed(mask[0], info.eos_token_ids[0])
