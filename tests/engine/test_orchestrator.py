from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Sequence

import pytest

from instructor_py.common.errors import ConstraintCompileError, ConstraintTimeoutError
from instructor_py.engine.bitmask import Bitmask, allocate_bitmask
from instructor_py.engine.relax import coarse_schema
from instructor_py.local import (
    AsyncStructuredOutputOrchestrator,
    Backend,
    BackendMatcher,
    BackendStats,
    ConstraintSpec,
    StructuredOutputOrchestrator,
    TokenizerInfo,
)
from tests.support.masks import accepts_text

pytest.importorskip("llguidance", reason="llguidance is not installed")
needs_outlines = pytest.mark.skipif(
    importlib.util.find_spec("outlines_core") is None, reason="outlines-core is not installed"
)

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


class BrokenBackend:
    """A backend whose compiler always fails (or hangs), to drive the fallback logic."""

    def __init__(self, tok: TokenizerInfo, *, hang: threading.Event | None = None) -> None:
        self._tok = tok
        self._hang = hang
        self.calls = 0

    @property
    def name(self) -> str:
        return "broken"

    def supports(self, spec: ConstraintSpec) -> bool:
        return True

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        return None

    def compile(self, spec: ConstraintSpec) -> BackendMatcher:
        self.calls += 1
        if self._hang is not None:
            self._hang.wait(5)
        raise ConstraintCompileError("broken: internal compiler failure")

    def allocate_bitmask(self, n: int) -> Bitmask:
        return allocate_bitmask(n, self._tok.logits_width)

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        raise AssertionError("never compiled anything")

    def get_stats(self) -> BackendStats:
        return BackendStats(self.name)


def test_installed_backends_are_registered(orch: StructuredOutputOrchestrator) -> None:
    assert orch.default_backend == "llguidance"
    assert "llguidance" in orch.backend_names
    assert isinstance(orch.get_backend("llguidance"), Backend)
    with pytest.raises(ConstraintCompileError, match="no backend named 'nope'"):
        orch.get_backend("nope")


def test_cache_hit_gives_a_fresh_matcher_without_recompiling(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    first = orch.compile_json_schema(PERSON)
    assert not first.cache_hit and first.compile_ms > 0
    assert first.matcher.accept_tokens(tok.tokenize('{"name":"A"'))
    second = orch.compile_json_schema(dict(PERSON))
    assert second.cache_hit and second.compile_ms == 0
    assert second.tokens_accepted == 0  # fresh, not the first handle's state
    assert accepts_text(second.matcher, tok, '{"name":"B","age":3}')
    stats = orch.get_stats()
    assert (stats.cache_hits, stats.cache_misses, stats.compiles) == (1, 1, 1)
    assert stats.per_backend["llguidance"].compiles == 1
    assert orch.get_backend("llguidance").get_stats().compiles == 1
    fresh = second.fresh()
    assert fresh.tokens_accepted == 0 and fresh.cache_hit


def test_lru_eviction_and_clear(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok, cache_size=2)
    for pattern in ["a", "b", "c"]:
        orch.compile_regex(pattern)
    assert orch.cache_len == 2
    assert not orch.compile_regex("a").cache_hit  # evicted
    assert orch.compile_regex("c").cache_hit
    orch.clear_cache()
    assert orch.cache_len == 0
    assert not orch.compile_regex("c").cache_hit


def test_fallback_when_the_default_backend_fails(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok)
    broken = BrokenBackend(tok)
    orch.register_backend(broken, set_as_default=True)
    handle = orch.compile_json_schema(PERSON)
    assert broken.calls == 1
    assert handle.backend != "broken" and handle.exact
    assert any("internal compiler failure" in r for r in handle.fallback_reasons)
    stats = orch.get_stats()
    assert stats.fallbacks == 1 and stats.per_backend["broken"].compile_errors == 1
    assert accepts_text(handle.matcher, tok, '{"name":"A","age":1}')


@needs_outlines
def test_real_selection_when_a_backend_lacks_support(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok)
    orch.register_backend(orch.get_backend("outlines"), set_as_default=True)
    assert orch.compile_regex("[a-z]+").backend == "outlines"
    grammar = orch.compile(ConstraintSpec.grammar('start: "yes" | "no"'))
    assert grammar.backend == "llguidance"
    assert grammar.fallback_reasons == (
        "outlines: skipped (outlines-core does not compile grammars)",
    )
    # outlines-core would silently ignore "minimum": the schema goes to llguidance, exactly
    bounded = orch.compile_json_schema({"type": "integer", "minimum": 5})
    assert bounded.backend == "llguidance" and bounded.exact
    assert "minimum" in bounded.fallback_reasons[0]
    assert not accepts_text(bounded.matcher, tok, "4")
    assert accepts_text(
        orch.compile_json_schema({"type": "integer", "minimum": 5}).matcher, tok, "15"
    )


@needs_outlines
def test_real_fallback_from_llguidance_to_outlines(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok)
    handle = orch.compile_json_schema(PERSON)
    assert handle.backend == "llguidance"
    # make llguidance's own compiler fail for real: a lexer budget it cannot meet
    import llguidance as llg

    from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend

    starved = LLGuidanceBackend(tok, limits=llg.LLParserLimits(initial_lexer_fuel=1))
    orch.register_backend(starved, set_as_default=True)  # replaces the default llguidance
    fallback = orch.compile_json_schema(PERSON)
    assert fallback.backend == "outlines" and fallback.exact
    assert fallback.fallback_reasons[0].startswith("llguidance:")
    assert accepts_text(fallback.matcher, tok, '{"name":"A","age":1}')


def test_relaxed_lenient_tier(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    schema = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    handle = orch.compile_json_schema(schema)
    assert not handle.exact
    assert handle.relaxed_reason is not None and "uniqueItems" in handle.relaxed_reason
    assert "without the keywords" in handle.relaxed_reason
    # lenient: uniqueItems is ignored (validation must catch duplicates), the rest still holds
    assert accepts_text(handle.matcher, tok, "[1,1]")
    assert not accepts_text(orch.compile_json_schema(schema).matcher, tok, '["x"]')
    assert not accepts_text(orch.compile_json_schema(schema).matcher, tok, "{}")
    assert orch.get_stats().relaxed == 1
    with pytest.raises(ConstraintCompileError, match=r"llguidance.*uniqueItems"):
        orch.compile_json_schema(schema, allow_relaxed=False)


def test_relaxed_shape_tier(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    # a $dynamicRef: no backend can compile it, even leniently -> any JSON object
    schema = {
        "type": "object",
        "properties": {"a": {"$dynamicRef": "#meta"}},
        "$defs": {"m": {"$dynamicAnchor": "meta", "type": "string"}},
    }
    handle = orch.compile_json_schema(schema)
    assert not handle.exact
    assert handle.relaxed_reason is not None and "relaxed to object" in handle.relaxed_reason
    assert "dynamicRef" in handle.relaxed_reason
    assert accepts_text(handle.matcher, tok, '{"b":[1,2]}')
    assert not accepts_text(orch.compile_json_schema(schema).matcher, tok, "[1]")


def test_relaxed_schema_shapes() -> None:
    assert coarse_schema({"type": "object", "properties": {}}) == {"type": "object"}
    assert coarse_schema({"properties": {"a": {}}}) == {"type": "object"}
    assert coarse_schema({"prefixItems": [{}]}) == {"type": "array"}
    assert coarse_schema({"type": ["string", "null"]}) == {"type": ["string", "null"]}
    assert coarse_schema({"anyOf": [{"type": "string"}]}) == {}
    assert coarse_schema(True) == {}


def test_compile_errors_are_typed_and_say_where(orch: StructuredOutputOrchestrator) -> None:
    with pytest.raises(
        ConstraintCompileError,
        match=r"(?s)could not compile regex 'a\(b'.*llguidance.*unclosed group",
    ):
        orch.compile_regex("a(b")
    with pytest.raises(ConstraintCompileError, match=r"(?s)lark.*llguidance"):
        orch.compile(ConstraintSpec.grammar("start: undefined_rule", "lark"))
    with pytest.raises(ConstraintCompileError, match=r"(?s)gbnf"):
        orch.compile(ConstraintSpec.grammar('root ::= "a" (', "gbnf"))
    assert orch.get_stats().errors == 3


def test_no_backend_installed(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok, backends=[])
    with pytest.raises(ConstraintCompileError, match="no constraint backend is installed"):
        orch.compile_regex("a")


def test_compile_time_limit(tok: TokenizerInfo) -> None:
    release = threading.Event()
    hanging = BrokenBackend(tok, hang=release)
    alone = StructuredOutputOrchestrator(tok, backends=[hanging], compile_timeout_s=0.2)
    with_fallback = StructuredOutputOrchestrator(tok, compile_timeout_s=0.2)
    with_fallback.register_backend(hanging, set_as_default=True)
    try:
        with pytest.raises(ConstraintTimeoutError, match=r"longer than 0\.2 s"):
            alone.compile_regex("a")
        # the abandoned compilation still runs: the backend is skipped, not piled up
        handle = with_fallback.compile_regex("b")
        assert handle.backend == "llguidance"
        assert "still running past its time limit" in handle.fallback_reasons[0]
        assert hanging.calls == 1
    finally:
        release.set()


def test_mask_timing_stats(orch: StructuredOutputOrchestrator, tok: TokenizerInfo) -> None:
    handle = orch.compile_regex("[a-z]{5}")
    mask = orch.allocate_bitmask()
    for t in tok.tokenize("hello"):
        handle.matcher.fill_next_token_bitmask(mask)
        assert handle.matcher.accept_token(t)
    stats = orch.get_stats()
    assert stats.mask.count == 5
    assert 0 < stats.mask.p50_us <= stats.mask.p99_us
    assert stats.per_backend["llguidance"].mask.count == 5
    orch.reset_stats()
    assert orch.get_stats().mask.count == 0


async def test_async_compile_runs_in_a_worker_thread(tok: TokenizerInfo) -> None:
    orch = AsyncStructuredOutputOrchestrator(tok)
    handles = await asyncio.gather(
        orch.acompile(ConstraintSpec.json_schema(PERSON)),
        orch.acompile(ConstraintSpec.regex("[0-9]+")),
        orch.acompile(ConstraintSpec.choice(["x", "y"])),
    )
    assert [h.spec.kind for h in handles] == ["json_schema", "regex", "choice"]
    assert accepts_text(handles[1].matcher, tok, "123")
    grammar = await orch.acompile(ConstraintSpec.grammar('start: "ok"'))
    assert accepts_text(grammar.matcher, tok, "ok")


def test_concurrent_compiles_of_one_spec_compile_once(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    schema = {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}
    with ThreadPoolExecutor(4) as pool:
        handles = list(pool.map(lambda _: orch.compile_json_schema(schema), range(8)))
    stats = orch.get_stats()
    assert stats.compiles == 1 and stats.cache_misses == 1 and stats.cache_hits == 7
    assert sum(not h.cache_hit for h in handles) == 1
    assert len({id(h.matcher.inner) for h in handles}) == 8  # every handle has its own matcher
    assert all(accepts_text(h.matcher, tok, '{"k":"v"}') for h in handles)


def test_a_backend_whose_package_is_absent_is_not_registered(
    monkeypatch: pytest.MonkeyPatch, tok: TokenizerInfo
) -> None:
    import sys

    from instructor_py.engine.backends import installed_backends

    monkeypatch.setitem(sys.modules, "outlines_core", None)  # makes `import outlines_core` fail
    monkeypatch.delitem(sys.modules, "instructor_py.engine.backends.outlines_backend", raising=False)
    assert [b.name for b in installed_backends(tok)] == ["llguidance", "guidance"]
    assert StructuredOutputOrchestrator(tok).backend_names == ("llguidance", "guidance")


def test_a_matcher_in_an_error_state_raises_instead_of_masking(tok: TokenizerInfo) -> None:
    import llguidance as llg

    from instructor_py.common.errors import ConstraintError
    from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend

    tight = LLGuidanceBackend(tok, limits=llg.LLParserLimits(max_items_in_row=1))
    orch = StructuredOutputOrchestrator(tok, backends=[tight])
    handle = orch.compile_json_schema({"type": "array", "items": {"type": "string"}})
    mask = orch.allocate_bitmask()
    with pytest.raises(ConstraintError, match=r"error state.*max is 1"):
        for t in tok.tokenize('["x","y"'):
            handle.matcher.fill_next_token_bitmask(mask)
            handle.matcher.accept_token(t)
    assert handle.matcher.get_error() is not None
