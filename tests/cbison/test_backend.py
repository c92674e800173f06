"""CbisonBackend: a CBISON factory as an orchestrator backend. The round trip (our exported
factory consumed through CbisonBackend gives the orchestrator's masks) and the tiny C engine as a
backend (registered, selected, declining what it cannot compile so the orchestrator falls back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instructor_py.common.errors import (
    ConfigurationError,
    ConstraintCompileError,
    ConstraintError,
    TokenOutOfRangeError,
)
from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend
from instructor_py.engine.cbison import CbisonBackend, CbisonFactory, export_factory, load_factory
from instructor_py.local import (
    BatchProcessor,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allocate_bitmask,
)
from tests.support.cbison.build import needs_cc, python_walk
from tests.support.cbison.cases import CASE_IDS, CASES

CHOICE = ConstraintSpec.choice(["yes", "no", "a b|c"])


@pytest.mark.parametrize(("spec", "gtype", "grammar", "text"), CASES, ids=CASE_IDS)
def test_round_trip_gives_the_orchestrators_masks(
    smol: TokenizerInfo,
    smol_orch: StructuredOutputOrchestrator,
    spec: ConstraintSpec,
    gtype: str,
    grammar: str,
    text: str,
) -> None:
    tokens = smol.tokenize(text)
    direct = python_walk(smol_orch.compile(spec).matcher, tokens, smol.vocab_size)
    with export_factory(smol_orch) as exported, CbisonFactory(exported.address) as f:
        orch = StructuredOutputOrchestrator(
            smol, backends=[CbisonBackend(f, name="ours-via-c", tokenizer=smol)]
        )
        handle = orch.compile(spec)
        assert handle.backend == "ours-via-c" and handle.exact
        through_c = python_walk(handle.matcher, tokens, smol.vocab_size)
    assert np.array_equal(through_c.masks, direct.masks)
    assert through_c.accepting == direct.accepting and through_c.accepting[-1]
    assert through_c.stopped == direct.stopped


def test_round_trip_matcher_methods(tok: TokenizerInfo, orch: StructuredOutputOrchestrator) -> None:
    spec = ConstraintSpec.json_schema(
        {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    )
    direct = orch.compile(spec).matcher
    with export_factory(orch) as exported, CbisonFactory(exported.address) as f:
        m = CbisonBackend(f, tokenizer=tok).compile(spec)
        assert m.compute_ff_tokens() == direct.compute_ff_tokens() != []
        ff = m.compute_ff_tokens()
        assert m.accept_tokens(ff) and direct.accept_tokens(ff)
        assert m.validate_tokens(tok.tokenize(b"true}")) == direct.validate_tokens(
            tok.tokenize(b"true}")
        )
        assert not m.accept_token(ord("x")) and m.get_error() is None  # refused, state unchanged
        assert m.accept_tokens(tok.tokenize(b"tr"))
        clone = m.clone()
        m.rollback(2)
        assert m.tokens_accepted == len(ff) and clone.tokens_accepted == len(ff) + 2
        assert clone.accept_tokens(tok.tokenize(b"ue}")) and clone.is_accepting()
        assert clone.accept_token(tok.eos_token_ids[0]) and clone.is_terminated()
        m.reset()
        assert m.tokens_accepted == 0 and m.compute_ff_tokens() == ff


def test_round_trip_batch_through_batch_processor(
    smol: TokenizerInfo, smol_orch: StructuredOutputOrchestrator
) -> None:
    specs = [c[0] for c in CASES]
    with export_factory(smol_orch) as exported, CbisonFactory(exported.address) as f:
        orch = StructuredOutputOrchestrator(smol, backends=[CbisonBackend(f, tokenizer=smol)])
        bp = BatchProcessor(orch, 3)
        for i, spec in enumerate(specs):
            bp.set_constraint(i, spec)
        bp.fill_bitmask()
        for i, spec in enumerate(specs):
            row = allocate_bitmask(1, smol.logits_width)
            smol_orch.compile(spec).matcher.fill_next_token_bitmask(row, 0)
            assert np.array_equal(bp.bitmask[i], row[0])


# --- the tiny C engine as a backend ----------------------------------------------------------


@needs_cc
def test_tiny_engine_backend_compiles_regex_and_choice(tiny_lib: Path, tok: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    orch = StructuredOutputOrchestrator(
        tok, backends=[CbisonBackend(f, name="tiny", tokenizer=tok)]
    )
    h = orch.compile(CHOICE)
    assert h.backend == "tiny"
    for option in ("yes", "no", "a b|c"):
        m = h.fresh().matcher
        assert m.accept_tokens(tok.tokenize(option)) and m.is_accepting(), option
        assert m.accept_token(tok.eos_token_ids[0]) and m.is_terminated()
    assert not h.fresh().matcher.accept_tokens(tok.tokenize("maybe"))
    again = orch.compile(CHOICE)
    assert again.cache_hit  # the cache clones the prototype through clone_matcher


@needs_cc
def test_an_engine_without_optional_functions_still_serves_the_orchestrator(
    tiny_lib: Path, tok: TokenizerInfo
) -> None:
    f = load_factory(tiny_lib, "tiny", tok, {"minimal": True})
    orch = StructuredOutputOrchestrator(
        tok, backends=[CbisonBackend(f, name="tiny-min", tokenizer=tok)]
    )
    m = orch.compile_regex("[a-c]+!").matcher  # the cache's clone: new matcher + replay
    assert not m.accept_token(ord("z"))  # checked against the mask (no validate_tokens)
    with pytest.raises(TokenOutOfRangeError, match="outside the engine's vocabulary"):
        m.accept_token(tok.vocab_size)
    assert (
        m.accept_tokens([ord("a"), ord("b")])
        and m.validate_tokens([ord("c"), ord("!"), ord("x")]) == 2
    )
    c = m.clone()
    m.rollback(1)
    assert m.tokens_accepted == 1 and c.tokens_accepted == 2
    assert m.compute_ff_tokens() == []  # not provided: nothing forced
    m.reset()
    assert m.tokens_accepted == 0 and not m.is_accepting()
    bp = BatchProcessor(orch, 2)
    bp.set_constraint(0, orch.compile_regex("x"))
    bp.set_constraint(1, orch.compile_regex("y"))
    bp.fill_bitmask()  # no compute_masks: one compute_mask per row
    assert [
        int(np.flatnonzero(np.unpackbits(bp.bitmask[i].view(np.uint8), bitorder="little"))[0])
        for i in (0, 1)
    ] == [
        ord("x"),
        ord("y"),
    ]


@needs_cc
def test_refused_grammar_types_fall_back_on_the_next_backend(
    tiny_lib: Path, tok: TokenizerInfo
) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    orch = StructuredOutputOrchestrator(
        tok, backends=[CbisonBackend(f, name="tiny", tokenizer=tok), LLGuidanceBackend(tok)]
    )
    h = orch.compile_json_schema({"type": "object"})
    assert h.backend == "llguidance"  # the engine was asked and declined without compiling
    assert h.fallback_reasons == (
        "tiny: skipped (the engine refuses this json_schema grammar (tiny engine: grammar type "
        "'json_schema' is not supported; it reads only 'regex'))",
    )
    tiny_stats = orch.get_backend("tiny").get_stats()
    assert (tiny_stats.compiles, tiny_stats.compile_errors) == (0, 0)  # never asked to compile
    # without probing, the engine's refusal of the grammar itself makes compile fail over
    unprobed = StructuredOutputOrchestrator(
        tok,
        backends=[
            CbisonBackend(f, name="tiny", tokenizer=tok, probe_types=False),
            LLGuidanceBackend(tok),
        ],
    )
    h = unprobed.compile_json_schema({"type": "object"})
    assert h.backend == "llguidance" and "tiny refused" in h.fallback_reasons[0]
    unicode = orch.compile_regex(r"\p{L}+")  # a regex feature the tiny engine does not have
    assert unicode.backend == "llguidance" and "unknown escape" in unicode.fallback_reasons[0]
    with pytest.raises(ConstraintCompileError, match=r"(?s)tiny: skipped.*bad \{m,n\}.*llguidance"):
        orch.compile_regex("a{5,2}")  # invalid for both: both reasons are in the error
    declared = CbisonBackend(f, name="tiny", tokenizer=tok, grammar_types=["regex"])
    assert declared.unsupported_reason(ConstraintSpec.grammar("start: /a/")) == (
        "the engine does not accept grammar type 'lark' (it accepts regex)"
    )
    with pytest.raises(ConstraintCompileError, match=r"tiny: the engine refuses.*missing \)"):
        CbisonBackend(f, name="tiny").compile(ConstraintSpec.regex("(a"))
    with pytest.raises(ConstraintCompileError, match="tiny refused"):
        CbisonBackend(f, name="tiny", probe_types=False).compile(ConstraintSpec.regex("(a"))


@needs_cc
def test_backend_bad_arguments(tiny_lib: Path, tok: TokenizerInfo, smol: TokenizerInfo) -> None:
    f = load_factory(tiny_lib, "tiny", tok)
    with pytest.raises(ConfigurationError, match="differs from the tokenizer's vocabulary"):
        CbisonBackend(f, tokenizer=smol)
    with pytest.raises(ConfigurationError, match="expected a CbisonFactory"):
        CbisonBackend(object())  # type: ignore[arg-type]
    backend = CbisonBackend(f, tokenizer=tok)
    other = LLGuidanceBackend(tok).compile(ConstraintSpec.regex("a"))
    with pytest.raises(ConstraintError, match="does not come from cbison"):
        backend.fill_bitmask_batch([(other, 0)], backend.allocate_bitmask(1))
    assert backend.allocate_bitmask(2).shape == (2, (tok.logits_width + 31) // 32)
