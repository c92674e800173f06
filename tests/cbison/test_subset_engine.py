"""A CBISON engine that implements a subset of a grammar type, registered as the default backend.

The engine (tests/cbison/c/alt_engine.c, compiled with ``cc`` at test time) reads only literal
alternations such as ``(yes|no|maybe)``. The orchestrator must ask it about the grammar at hand
(``validate_grammar``), compile what it accepts with it, fall back on llguidance for the rest, and
say so: ``fallbacks`` in the stats, a per-backend record of what was declined and why, a log
record and the decline listeners.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from instructor_py.engine.cbison import CbisonBackend, load_factory
from instructor_py.engine.stats import BackendDecline
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo
from tests.support.cbison.build import needs_cc

LITERALS_ONLY = "alt engine: only literal alternations like (yes|no) are supported"


@pytest.fixture()
def alt_default(c_build: dict[str, Path], tok: TokenizerInfo) -> StructuredOutputOrchestrator:
    factory = load_factory(c_build["alt"], "alt", tok)
    orch = StructuredOutputOrchestrator(tok)  # the installed backends (llguidance first) ...
    orch.register_backend(CbisonBackend(factory, name="alt", tokenizer=tok), set_as_default=True)
    assert orch.default_backend == "alt"  # ... and the subset engine as the default
    return orch


def accepts(orch_handle_matcher: object, tok: TokenizerInfo, text: str) -> bool:
    m = orch_handle_matcher
    return bool(m.accept_tokens(tok.tokenize(text)) and m.is_accepting())  # type: ignore[attr-defined]


@needs_cc
def test_the_subset_engine_compiles_what_it_accepts(
    alt_default: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    handle = alt_default.compile_regex("(yes|no|maybe)")
    assert handle.backend == "alt" and handle.fallback_reasons == ()
    assert accepts(handle.fresh().matcher, tok, "maybe")
    assert not accepts(handle.fresh().matcher, tok, "perhaps")
    choice = alt_default.compile(ConstraintSpec.choice(["positive", "negative"]))
    assert choice.backend == "alt"  # a choice is a literal alternation too
    stats = alt_default.get_stats()
    assert stats.fallbacks == 0 and stats.per_backend["alt"].compiles == 2


@needs_cc
def test_what_it_declines_falls_back_and_is_reported(
    alt_default: StructuredOutputOrchestrator, tok: TokenizerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[BackendDecline] = []
    alt_default.add_decline_listener(heard.append)
    with caplog.at_level(logging.INFO, logger="instructor_py.engine.orchestrator"):
        handle = alt_default.compile_regex("[a-z]+")
    assert handle.backend == "llguidance"
    assert accepts(handle.fresh().matcher, tok, "abc")
    stats = alt_default.get_stats()
    assert stats.fallbacks == 1
    alt = stats.per_backend["alt"]
    assert alt.declines == 1 and alt.compiles == 0 and alt.compile_errors == 0  # asked, not built
    (decline,) = alt.recent_declines
    assert decline.backend == "alt" and decline.skipped and decline.kind == "regex"
    assert "[a-z]+" in decline.constraint
    assert LITERALS_ONLY in decline.reason and "not a parenthesised list" in decline.reason
    assert any("alt" in r and LITERALS_ONLY in r for r in stats.recent_fallback_reasons)
    assert handle.fallback_reasons[0].startswith("alt: skipped (the engine refuses this regex")
    assert heard == [decline]
    (record,) = [r for r in caplog.records if getattr(r, "backend", None) == "alt"]
    assert "alt" in record.getMessage() and LITERALS_ONLY in record.getMessage()
    mixed = alt_default.compile_regex("(yes|[a-z]+)")
    assert mixed.backend == "llguidance"
    assert (
        "'[' at offset 5" in alt_default.get_stats().per_backend["alt"].recent_declines[-1].reason
    )
    # a grammar type it does not read at all: the same path, with the engine's own reason
    schema = alt_default.compile_json_schema({"type": "boolean"})
    assert schema.backend == "llguidance"
    assert alt_default.get_stats().fallbacks == 3
    assert "grammar type 'json_schema' is not supported" in (
        alt_default.get_stats().per_backend["alt"].recent_declines[-1].reason
    )


@needs_cc
def test_a_failed_compile_is_a_recorded_fallback_too(
    c_build: dict[str, Path], tok: TokenizerInfo
) -> None:
    factory = load_factory(c_build["alt"], "alt", tok)
    orch = StructuredOutputOrchestrator(tok)
    unasked = CbisonBackend(factory, name="alt", tokenizer=tok, probe_types=False)
    orch.register_backend(unasked, set_as_default=True)
    handle = orch.compile_regex("a+")
    assert handle.backend == "llguidance"
    (decline,) = orch.get_stats().per_backend["alt"].recent_declines
    assert not decline.skipped and LITERALS_ONLY in decline.reason
    assert orch.get_stats().fallbacks == 1
    assert orch.get_stats().per_backend["alt"].compile_errors == 1
