from __future__ import annotations

import pytest

from instructor_py.common.errors import ConfigurationError, TokenOutOfRangeError
from instructor_py.local import TokenizerInfo
from tests.support.masks import MERGES, synthetic_tokenizer


def test_from_token_bytes_fields(tok: TokenizerInfo) -> None:
    n = 256 + len(MERGES) + 3
    assert tok.vocab_size == n
    assert tok.logits_width == n + 5
    assert tok.eos_token_ids == (n - 3, n - 2)
    # EOS and BOS are special even when not listed as such
    assert {n - 3, n - 2, n - 1} <= tok.special_token_ids
    assert tok.token_bytes[n - 3] == b"<|im_end|>"


def test_fingerprint_is_stable_and_sensitive(tok: TokenizerInfo) -> None:
    again = synthetic_tokenizer()
    assert again.fingerprint == tok.fingerprint
    assert again == tok and hash(again) == hash(tok)
    other = TokenizerInfo.from_token_bytes(tok.token_bytes, eos_token_ids=[tok.eos_token_ids[0]])
    assert other.fingerprint != tok.fingerprint
    changed = list(tok.token_bytes)
    changed[65] = b"A!"
    assert TokenizerInfo.from_token_bytes(changed, tok.eos_token_ids).fingerprint != tok.fingerprint


def test_greedy_tokenize_and_decode(tok: TokenizerInfo) -> None:
    ids = tok.tokenize('{"name":"ab"}')
    assert tok.decode(ids) == b'{"name":"ab"}'
    assert ids[0] == tok.token_bytes.index(b'{"')  # longest match
    assert tok.token_bytes.index(b"name") in ids
    # special tokens are never produced from text
    assert all(i not in tok.special_token_ids for i in tok.tokenize("<|im_end|>"))


def test_out_of_range_token_is_a_typed_error(tok: TokenizerInfo) -> None:
    with pytest.raises(TokenOutOfRangeError, match=r"token id 999999 .*synthetic"):
        tok.check_token(999_999)
    with pytest.raises(TokenOutOfRangeError):
        tok.decode([-1])


def test_bad_construction_arguments() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        TokenizerInfo.from_token_bytes([], eos_token_ids=[0])
    with pytest.raises(TokenOutOfRangeError, match="eos_token_ids"):
        TokenizerInfo.from_token_bytes([b"a", b"b"], eos_token_ids=[7])
    with pytest.raises(ConfigurationError, match="logits_width"):
        TokenizerInfo.from_token_bytes([b"a", b"b"], eos_token_ids=[1], logits_width=1)
    with pytest.raises(ConfigurationError, match="end-of-sequence"):
        TokenizerInfo.from_token_bytes([b"a", b"b"], eos_token_ids=[])


def test_a_freed_model_falls_back_to_greedy_tokenization(tok: TokenizerInfo) -> None:
    def freed(data: bytes) -> list[int]:
        raise LookupError("the llama model behind this TokenizerInfo was freed")

    orphan = TokenizerInfo.from_token_bytes(tok.token_bytes, tok.eos_token_ids, encode=freed)
    assert orphan.tokenize('{"name"') == tok.tokenize('{"name"')


def test_backend_objects_are_per_instance_not_per_fingerprint(tok: TokenizerInfo) -> None:
    """An LLTokenizer calls back into one model's tokenizer: equal vocabularies must not share it."""
    pytest.importorskip("llguidance", reason="llguidance is not installed")
    from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for

    twin = synthetic_tokenizer()
    assert twin == tok
    assert lltokenizer_for(twin) is lltokenizer_for(twin)
    assert lltokenizer_for(twin) is not lltokenizer_for(tok)
