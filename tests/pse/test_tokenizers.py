"""TokenizerInfo.from_hf on tokenizers built in code (no download, no torch): byte-level BPE,
SentencePiece-style byte-fallback BPE, a word-level vocabulary, and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.common.errors import ConfigurationError
from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for, native_lltokenizer
from instructor_py.local import ConstraintSpec, StructuringEngine, TokenizerInfo
from tests.support.scripted_model import CountingSampler, ScriptedModel, generate

tokenizers = pytest.importorskip("tokenizers", reason="tokenizers is not installed (dev extra)")


def sentencepiece_like() -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    pieces += ["▁", "a", "b", "▁a", "ab", "▁ab", "é"]
    vocab = {p: i for i, p in enumerate(pieces)}
    merges = [("▁", "a"), ("a", "b"), ("▁a", "b")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    tok.add_special_tokens([AddedToken(t, special=True) for t in ("<unk>", "<s>", "</s>")])
    return tok


def byte_level() -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    for extra in ("Ġa", "ab", "Ġab"):
        vocab[extra] = len(vocab)
    merges = [("Ġ", "a"), ("a", "b"), ("Ġa", "b")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return tok


def test_sentencepiece_bytes_and_specials() -> None:
    info = TokenizerInfo.from_hf(sentencepiece_like())
    by_bytes = {b: i for i, b in enumerate(info.token_bytes)}
    assert info.token_bytes[3 + 0x0A] == b"\n"  # <0x0A> byte fallback
    assert b" ab" in by_bytes and b" " in by_bytes  # ▁ is a space
    assert info.token_bytes[by_bytes["é".encode()]] == "é".encode()
    assert info.special_token_ids == frozenset({0, 1, 2})
    assert info.eos_token_ids == (2,)  # "</s>" found by name
    assert info.tokenize(" ab") == [by_bytes[b" ab"]]


def test_byte_level_bytes() -> None:
    info = TokenizerInfo.from_hf(byte_level())
    assert set(info.token_bytes[:256]) == {bytes([b]) for b in range(256)}
    assert b" ab" in info.token_bytes
    assert info.eos_token_ids == (info.token_bytes.index(b"<|endoftext|>"),)
    assert info.decode(info.tokenize("ab ab\n")) == b"ab ab\n"


def test_engine_on_a_sentencepiece_tokenizer() -> None:
    info = TokenizerInfo.from_hf(sentencepiece_like())
    # llguidance's tokenizer: built natively from the tokenizer JSON, once per TokenizerInfo
    assert native_lltokenizer(info) is not None
    assert lltokenizer_for(info) is info.backend_cache["llguidance"]
    engine = StructuringEngine(info)
    engine.configure(ConstraintSpec.regex(r"(ab|a)( ab)+\n"))
    generate(engine, ScriptedModel(info, "ab ab ab\n"), CountingSampler())
    assert engine.steppers[0].text == "ab ab ab\n"
    assert engine.has_reached_accept_state


def test_engine_accepts_a_raw_hf_tokenizer() -> None:
    engine = StructuringEngine(byte_level())
    engine.configure(ConstraintSpec.choice(["ab", "ba"]))
    generate(engine, ScriptedModel(engine.tokenizer_info, "ba"), CountingSampler())
    assert engine.get_structured_output() == "ba"


def test_bad_tokenizers() -> None:
    from tokenizers import Tokenizer, models

    bare = Tokenizer(models.WordLevel(vocab={"x": 0, "y": 1}, unk_token="x"))
    with pytest.raises(ConfigurationError, match="pass eos_token_ids"):
        TokenizerInfo.from_hf(bare)
    info = TokenizerInfo.from_hf(bare, eos_token_ids=[1], logits_width=8)
    assert info.token_bytes == (b"x", b"y") and info.logits_width == 8
    with pytest.raises(ConfigurationError, match="not a Hugging Face tokenizer"):
        TokenizerInfo.from_hf(object())
