"""Exporting our engine: a C driver (tests/support/cbison/c/driver.c, built with cc) takes the address of
our exported factory and runs new_matcher / compute_mask / consume_tokens / is_accepting through
the function pointers only; its masks equal the orchestrator's bit for bit."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest

from instructor_py.common.errors import CbisonError
from instructor_py.engine.cbison import export_factory, export_tokenizer
from instructor_py.engine.cbison.export import live_exports
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo
from tests.support.cbison.build import Driver, needs_cc, python_walk
from tests.support.cbison.cases import CASE_IDS, CASES, PERSON

pytestmark = needs_cc


@pytest.mark.parametrize(("spec", "gtype", "grammar", "text"), CASES, ids=CASE_IDS)
def test_c_driver_masks_equal_ours_bit_for_bit(
    driver: Driver,
    smol: TokenizerInfo,
    smol_orch: StructuredOutputOrchestrator,
    spec: ConstraintSpec,
    gtype: str,
    grammar: str,
    text: str,
) -> None:
    tokens = smol.tokenize(text)
    ours = python_walk(smol_orch.compile(spec).matcher, tokens, smol.vocab_size)
    with export_factory(smol_orch) as exported:
        walk = driver.walk(exported.address, gtype, grammar, tokens, ours.masks.shape[1])
    assert walk.rc == 0, walk.error
    assert walk.masks.shape == ours.masks.shape and np.array_equal(walk.masks, ours.masks)
    assert walk.accepting == ours.accepting and walk.accepting[-1]
    assert walk.stopped == ours.stopped and walk.stopped[-1] == (gtype != "lark")  # [a-z]+ goes on
    assert not any(walk.accepting[:-1]) or gtype == "lark"  # "I say h" already matches the lark one
    assert np.count_nonzero(walk.masks) > 0


def test_c_driver_batch_uses_compute_masks(
    driver: Driver, smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    spec, gtype, grammar, text = CASES[0]
    tokens = smol.tokenize(text)
    ours = python_walk(smol_orch.compile(spec).matcher, tokens, smol.vocab_size).masks
    with export_factory(smol_orch) as exported:
        rc, masks = driver.walk_batch(exported.address, gtype, grammar, tokens, 4, ours.shape[1])
    assert rc == 0
    for j in range(4):  # four clones in lockstep, one batched call per step
        assert np.array_equal(masks[:, j, :], ours)


def test_schema_options_travel_in_x_guidance(
    driver: Driver, smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    text = '{ "a" : 1 }'
    tokens = smol.tokenize(text)
    flexible = ConstraintSpec.json_schema(schema, whitespace="flexible")
    ours = python_walk(smol_orch.compile(flexible).matcher, tokens, smol.vocab_size).masks
    with export_factory(smol_orch) as exported:
        sent = json.dumps({**schema, "x-guidance": {"whitespace_flexible": True}})
        walk = driver.walk(exported.address, "json_schema", sent, tokens, ours.shape[1])
        assert walk.rc == 0 and np.array_equal(walk.masks, ours)
        compact = driver.walk(exported.address, "json", json.dumps(schema), tokens, ours.shape[1])
    assert compact.rc == -2 and "not allowed by the grammar" in compact.error  # " " after "{"


def test_bad_input_through_the_c_interface(
    driver: Driver, tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    with export_factory(orch) as exported:
        got = driver.bad_cases(exported.address, "regex", "ab", ord("z"))
    assert got["invalid_grammar"][0] == -1 and "unclosed group" in got["invalid_grammar"][1]
    assert got["validate_unknown_type"][0] == -1
    assert "grammar type 'no-such-type' is not supported" in got["validate_unknown_type"][1]
    assert got["wrong_mask_len"] == (
        -1,
        "compute_mask: mask_byte_len 32 (expected 36) or NULL buffer",
    )
    assert (
        got["refused_token"][0] == -1
        and "token 122 (at 0) is not allowed" in got["refused_token"][1]
    )
    assert got["after_error_mask"][0] == -1 and got["after_error_stopped"][0] == 1
    assert got["too_long_rollback"][0] == -1 and "only 0 tokens" in got["too_long_rollback"][1]
    for case in ("freed_mask", "freed_consume", "double_free"):
        rc, err = got[case]
        assert "unknown or already freed matcher" in err
        assert rc == (0 if case == "double_free" else -1)


def test_validate_grammar_and_relaxed_warnings(
    tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    from instructor_py.engine.cbison import CbisonFactory

    # look-ahead in a pattern: no backend compiles it exactly
    schema = json.dumps({"type": "string", "pattern": "^(?=a)ab$"})
    with export_factory(orch) as strict, CbisonFactory(strict.address) as f:
        ok, msg = f.validate_grammar("json_schema", schema)
        assert not ok and msg
        assert f.validate_grammar("regex", "a+") == (True, "")
        assert f.validate_grammar("json_object", "") == (True, "")
    with export_factory(orch, allow_relaxed=True) as relaxed, CbisonFactory(relaxed.address) as f:
        ok, msg = f.validate_grammar("json_schema", schema)
        assert ok and msg.startswith("relaxed: ")  # rc 1: a warning


def test_exported_factory_lives_until_its_count_drops_to_zero(
    driver: Driver, tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    gc.collect()
    factories, matchers = live_exports()
    exported = export_factory(orch)
    address = exported.address
    driver.lib.drv_incr(address)  # C code takes a reference
    assert exported.ref_count == 2
    del exported
    gc.collect()  # our handle is gone; C still holds the factory
    assert live_exports() == (factories + 1, matchers)
    walk = driver.walk(address, "regex", "ab", [ord("a"), ord("b")], (tok.vocab_size + 31) // 32)
    assert walk.rc == 0 and walk.accepting == [False, False, True]
    driver.lib.drv_decr(address)  # the last reference: freed
    assert live_exports() == (factories, matchers)


def test_a_live_matcher_keeps_the_factory(
    tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    from instructor_py.engine.cbison import CbisonFactory

    exported = export_factory(orch)
    f = CbisonFactory(exported.address)
    m = f.new_matcher("regex", "ab")
    exported.close()
    f.close()
    assert exported.alive and exported.ref_count == 1  # only the matcher holds it now
    m.consume_tokens([ord("a")])
    m.free()
    assert not exported.alive
    with pytest.raises(CbisonError, match="was freed"):
        _ = exported.address


def test_exported_tokenizer_read_from_c(driver: Driver, smol: TokenizerInfo) -> None:
    import ctypes

    with export_tokenizer(smol) as exported:
        buf = ctypes.create_string_buffer(64)
        tid = smol.tokenize(b"hello")[0]
        n = driver.lib.drv_token(exported.address, tid, buf, 64)
        assert buf.raw[:n] == smol.token_bytes[tid]
        assert driver.lib.drv_token(exported.address, smol.vocab_size, buf, 64) == -1
        assert driver.lib.drv_is_special(exported.address, smol.eos_token_ids[0]) == 1
        assert driver.lib.drv_is_special(exported.address, tid) == 0
        text = 'Grüße, {"a": 1}'.encode()
        out = (ctypes.c_uint32 * 2)()
        count = driver.lib.drv_tokenize(exported.address, text, len(text), out, 2)
        assert count == len(smol.tokenize(text)) > 2 and list(out) == smol.tokenize(text)[:2]


def test_export_rejects_wrong_arguments(tok: TokenizerInfo) -> None:
    with pytest.raises(CbisonError, match="expected a StructuredOutputOrchestrator"):
        export_factory(tok)  # type: ignore[arg-type]
    with pytest.raises(CbisonError, match="expected a TokenizerInfo"):
        export_tokenizer(PERSON)  # type: ignore[arg-type]


def test_c_driver_timing_entry_point(
    driver: Driver, tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    # the benchmark's C timing loop: a per-token time for each compute_mask, summing to the total
    tokens = [ord(c) for c in "abcabc"]
    with export_factory(orch) as exported:
        total, per = driver.time_masks(
            exported.address, "regex", "(abc)+", tokens, 1, (tok.vocab_size + 31) // 32
        )
        assert total > 0 and per.shape == (6,) and (per > 0).all()
        assert abs(per.sum() - total) <= 1e-6 * total
        failed, _ = driver.time_masks(
            exported.address, "regex", "(", tokens, 1, (tok.vocab_size + 31) // 32
        )
    assert failed == -1  # a bad grammar: the loop stops with -1
    with export_factory(orch) as exported:
        total, per = driver.time_batch(
            exported.address, "regex", "(abc)+", tokens, 3, (tok.vocab_size + 31) // 32
        )
    assert total > 0 and per.shape == (6,) and (per > 0).all()


def test_exported_compute_masks_mixed_backends_separate_buffers_and_an_error(
    tok: TokenizerInfo, orch: StructuredOutputOrchestrator
) -> None:
    import ctypes

    from instructor_py.engine.cbison import CbisonFactoryStruct, CbisonMaskReq, spec_for_grammar

    words = (tok.vocab_size + 31) // 32
    orch.register_backend(orch.get_backend("outlines"), set_as_default=True)
    grammars = [
        ("lark", 'start: "x" /[0-9]+/'),  # llguidance (outlines-core reads no grammars)
        ("regex", "(no|nay)"),  # outlines-core, the default now
        ("regex", "(unclosed"),  # a matcher in its error state
    ]
    assert [orch.compile(spec_for_grammar(*g)).backend for g in grammars[:2]] == [
        "llguidance",
        "outlines",
    ]
    with export_factory(orch) as exported:
        s = CbisonFactoryStruct.from_address(exported.address)
        ms = [s.new_matcher(exported.address, t.encode(), g.encode()) for t, g in grammars]
        bufs = [np.zeros(words, dtype=np.int32) for _ in ms]  # three separate arrays
        reqs = (CbisonMaskReq * 3)()
        for r, m, b in zip(reqs, ms, bufs, strict=True):
            r.matcher = m
            r.mask_dest = ctypes.cast(b.ctypes.data, ctypes.POINTER(ctypes.c_uint32))
        assert s.compute_masks(exported.address, reqs, 3) == -1  # one failed...
        for g, b in zip(grammars[:2], bufs[:2], strict=True):  # ...the others are filled
            want = np.zeros((1, words), dtype=np.int32)
            orch.compile(spec_for_grammar(*g)).matcher.fill_next_token_bitmask(want, 0)
            assert np.array_equal(b, want[0]) and b.any()
        assert not bufs[2].any()
        assert ctypes.string_at(s.get_error(ms[2])).startswith(b"could not compile regex")
        for m in ms:
            s.free_matcher(m)
