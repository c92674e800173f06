"""Consuming a C engine: the tiny engine (tests/support/cbison/c/tiny_engine.c, built with cc) loaded with
load_factory over our exported tokenizer, driven through CbisonFactory / CbisonMatcher."""

from __future__ import annotations

import ctypes
import gc
from pathlib import Path

import pytest

from instructor_py.common.errors import CbisonError, CbisonUnsupportedError, TokenOutOfRangeError
from instructor_py.engine.cbison import (
    CbisonFactory,
    CbisonFactoryStruct,
    CbisonTokenizer,
    export_tokenizer,
    load_factory,
)
from instructor_py.engine.cbison.abi import FACTORY_MAGIC
from instructor_py.engine.cbison.tokenizer import exported_tokenizer_count
from instructor_py.local import TokenizerInfo, allocate_bitmask, allowed_token_ids
from tests.support.cbison.build import needs_cc

pytestmark = needs_cc


def allowed(m: object, info: TokenizerInfo) -> list[int]:
    mask = allocate_bitmask(1, info.logits_width)
    m.compute_mask(mask, 0)  # type: ignore[attr-defined]
    assert not mask[0, (info.vocab_size + 31) // 32 :].any()  # the logits padding stays 0
    return [int(t) for t in allowed_token_ids(mask[0], info.logits_width)]


def test_load_factory_reads_the_engine_and_our_tokenizer(
    tiny_lib: Path, tok: TokenizerInfo
) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    assert (f.n_vocab, f.mask_byte_len, f.eos_token_id) == (
        tok.vocab_size,
        (tok.vocab_size + 31) // 32 * 4,
        tok.eos_token_ids[0],
    )
    assert f.version == (1, 0)
    assert f.validate_grammar("regex", "ab+c") == (True, "")
    ok, msg = f.validate_grammar("regex", "(ab")
    assert not ok and "missing )" in msg
    ok, msg = f.validate_grammar("json_schema", "{}")
    assert not ok and "only 'regex'" in msg


def test_matcher_masks_tokens_eos_and_fast_forward(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    ab = tok.token_bytes.index(b"ab")  # a merged token of the synthetic vocabulary
    eos = tok.eos_token_ids[0]
    with f.new_matcher("regex", "ab+c|x") as m:
        assert m.get_error() is None
        assert allowed(m, tok) == sorted([ord("a"), ab, ord("x")])
        m.consume_tokens([ord("a")])
        assert allowed(m, tok) == [ord("b")]
        assert m.compute_ff_tokens() == []  # "b" forced, but its token may merge with what follows
        assert m.validate_tokens([ord("b"), ord("b"), ord("z"), ord("c")]) == 2
        m.consume_tokens([ord("b"), ord("c")])
        assert m.is_accepting() and m.is_stopped()
        assert allowed(m, tok) == [eos]  # only EOS once the match is complete
        m.rollback(1)
        assert not m.is_accepting()
        clone = m.clone()
        m.reset()
        assert allowed(m, tok) == sorted([ord("a"), ab, ord("x")])
        assert allowed(clone, tok) == [ord("b"), ord("c")]
        clone.consume_tokens([ord("c"), eos])
        assert clone.is_stopped() and allowed(clone, tok) == []
        clone.free()


def test_fast_forward_goes_through_our_tokenize_bytes(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    m = f.new_matcher("regex", r'\{"name":"[a-z]+"\}')
    # the forced bytes '{"name":"' are tokenized by our TokenizerInfo, called back from C
    ff = m.compute_ff_tokens()
    assert ff == tok.tokenize(b'{"name":"')[: len(ff)] and len(ff) >= 2
    m.consume_tokens(ff)
    assert tok.decode(ff).startswith(b'{"name')


def test_bad_grammar_comes_back_through_get_error(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    m = f.new_matcher("regex", "a{3,1}")
    assert "bad {m,n} repetition" in (m.get_error() or "")
    with pytest.raises(CbisonError, match="bad \\{m,n\\} repetition"):
        m.compute_mask(allocate_bitmask(1, tok.logits_width))
    assert m.is_stopped() and not m.is_accepting()


def test_refused_token_and_out_of_range_token(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    m = f.new_matcher("regex", "abc")
    with pytest.raises(TokenOutOfRangeError, match="outside the engine's vocabulary"):
        m.consume_tokens([tok.vocab_size + 3])
    assert m.get_error() is None  # caught before the engine saw it
    with pytest.raises(CbisonError, match="token 122 is not allowed"):
        m.consume_tokens([ord("z")])
    assert m.get_error() == "token 122 is not allowed here"


def test_freed_matcher_is_a_clear_error(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    m = f.new_matcher("regex", "abc")
    m.free()
    m.free()  # idempotent
    for call in (m.is_accepting, m.get_error, lambda: m.consume_tokens([97]), m.clone):
        with pytest.raises(CbisonError, match="was freed"):
            call()
    with pytest.raises(CbisonError, match="was freed"):
        m.compute_mask(allocate_bitmask(1, tok.logits_width))


def test_null_optional_functions_say_not_supported(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok, {"minimal": True})
    assert not any(
        f.supports(n)
        for n in (
            "validate_tokens",
            "compute_ff_tokens",
            "rollback",
            "reset",
            "clone_matcher",
            "compute_masks",
        )
    )
    m = f.new_matcher("regex", "abc")
    for name, call in (
        ("validate_tokens", lambda: m.validate_tokens([97])),
        ("compute_ff_tokens", m.compute_ff_tokens),
        ("rollback", lambda: m.rollback(0)),
        ("reset", m.reset),
        ("clone_matcher", m.clone),
    ):
        with pytest.raises(CbisonUnsupportedError, match=f"{name} is not supported by this engine"):
            call()
    # compute_masks falls back on one compute_mask per matcher
    other = f.new_matcher("regex", "xyz")
    mask = allocate_bitmask(2, tok.logits_width)
    f.compute_masks([m, other], mask)
    assert list(allowed_token_ids(mask[0], tok.vocab_size)) == [
        ord("a"),
        tok.token_bytes.index(b"ab"),
    ]
    assert list(allowed_token_ids(mask[1], tok.vocab_size)) == [ord("x")]


def test_batched_compute_masks_equals_one_by_one(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    ms = [f.new_matcher("regex", r) for r in ("abc", "[0-9]+", "(yes|no)", ".")]
    ms[1].consume_tokens([ord("4")])
    batch = allocate_bitmask(6, tok.logits_width)
    f.compute_masks(ms, batch, rows=[5, 0, 3, 1])
    for m, row in zip(ms, [5, 0, 3, 1], strict=True):
        single = allocate_bitmask(1, tok.logits_width)
        m.compute_mask(single)
        assert (batch[row] == single[0]).all()
    assert not batch[[2, 4]].any()
    with pytest.raises(CbisonError, match="a row is given twice"):
        f.compute_masks(ms[:2], batch, rows=[1, 1])


def test_wrong_magic_and_major_version_are_refused(tiny_lib: Path, tok: TokenizerInfo) -> None:
    with pytest.raises(CbisonError, match=r"magic 0xdeadbeef .* is not a cbison_factory"):
        load_factory(tiny_lib, "tiny", tok, {"corrupt": "magic"})
    with pytest.raises(
        CbisonError, match=r"this cbison_factory is version 2\.0, this build reads version 1\.x"
    ):
        load_factory(tiny_lib, "tiny", tok, '{"corrupt": "version"}')
    fake = CbisonFactoryStruct()  # a struct built here: right magic, but no functions at all
    fake.magic = FACTORY_MAGIC
    fake.version_major = 1
    with pytest.raises(CbisonError, match=r"required function\(s\) incr_ref_count.* are NULL"):
        CbisonFactory(ctypes.addressof(fake))
    with pytest.raises(CbisonError, match="NULL"):
        CbisonFactory(0)
    with pytest.raises(CbisonError, match="is not aligned like a cbison_factory"):
        CbisonFactory(ctypes.addressof(fake) + 4)


def test_engine_errors_and_missing_symbols(
    tiny_lib: Path, tok: TokenizerInfo, tmp_path: Path
) -> None:
    with pytest.raises(CbisonError, match="does not export nope_cbison_new_factory"):
        load_factory(tiny_lib, "nope", tok)
    with pytest.raises(CbisonError, match="could not open the CBISON engine library"):
        load_factory(tmp_path / "missing.so", "tiny", tok)
    not_a_tokenizer = ctypes.create_string_buffer(256)  # zeroed: no magic
    with pytest.raises(
        CbisonError, match="tiny_cbison_new_factory failed: tiny engine: not a cbison_tokenizer"
    ):
        load_factory(tiny_lib, "tiny", ctypes.addressof(not_a_tokenizer))


def test_reference_counts_of_the_tokenizer_and_the_factory(
    tiny_lib: Path, tok: TokenizerInfo
) -> None:
    gc.collect()
    before = exported_tokenizer_count()
    exported = export_tokenizer(tok)
    assert exported.ref_count == 1
    f = load_factory(tiny_lib, "tiny", exported)
    assert exported.ref_count == 2  # the engine holds the tokenizer while its factory lives
    exported.close()
    assert exported.alive and exported.ref_count == 1  # ...even after we let go of ours
    refs = ctypes.CDLL(str(tiny_lib)).tiny_factory_refs
    refs.argtypes, refs.restype = [ctypes.c_void_p], ctypes.c_int
    assert refs(f.address) == 1
    m = f.new_matcher("regex", "a")
    assert refs(f.address) == 2  # a live matcher keeps the factory
    f.close()
    assert refs(f.address) == 1
    assert allowed(m, tok) == [ord("a")]  # the factory is still alive for its matcher
    assert exported.alive
    m.free()  # last reference: the engine frees the factory, which releases our tokenizer
    assert not exported.alive and exported_tokenizer_count() == before


def test_cbison_tokenizer_reads_a_c_tokenizer(tok: TokenizerInfo) -> None:
    exported = export_tokenizer(tok)
    t = CbisonTokenizer(exported.address)
    assert exported.ref_count == 2
    assert (t.n_vocab, t.eos_token_id, t.tokenize_bytes_requires_utf8) == (
        tok.vocab_size,
        tok.eos_token_ids[0],
        False,
    )
    assert t.get_token(ord("q")) == b"q" and t.get_token(tok.vocab_size - 1) == b"<s>"
    assert t.is_special_token(tok.eos_token_ids[0]) and not t.is_special_token(0)
    assert t.tokenize_bytes(b'{"name":"ab"}') == tok.tokenize(b'{"name":"ab"}')
    with pytest.raises(TokenOutOfRangeError):
        t.get_token(tok.vocab_size)
    info = t.to_tokenizer_info()
    assert info.token_bytes == tok.token_bytes and info.special_token_ids == tok.special_token_ids
    t.close()
    assert exported.ref_count == 1
    bad = ctypes.create_string_buffer(256)
    with pytest.raises(CbisonError, match="is not a cbison_tokenizer"):
        CbisonTokenizer(ctypes.addressof(bad))
