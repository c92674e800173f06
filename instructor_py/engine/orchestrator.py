"""`StructuredOutputOrchestrator`: backend registry, selection, fallback, compile cache, stats.

Selection for a spec: a backend that prefers the spec's kind (``preferred_kinds``: the guidance
backend for templates), then the default backend, unless it does not support the spec; then the
other registered backends in registration order. A backend that fails (or exceeds the time limit)
is recorded in the handle's ``fallback_reasons`` and the next one is tried.

Every time a backend is skipped (its ``unsupported_reason`` names why) or fails to compile, the
orchestrator records a :class:`~instructor_py.engine.stats.BackendDecline` (which backend, what
constraint, why): the stats count it as a fallback and keep it per backend, a log record goes to
the ``instructor_py.engine.orchestrator`` logger (INFO for a skip, WARNING for a failure), and the
listeners added with :meth:`StructuredOutputOrchestrator.add_decline_listener` receive it.

Relaxed fallback (JSON schema only, when ``spec.options.allow_relaxed``): if no backend compiles
the schema exactly, the orchestrator tries two relaxed tiers and returns a handle with
``exact=False`` and ``relaxed_reason`` set:

1. *lenient*: :func:`~instructor_py.engine.relax.relax_schema` of the schema, compiled strictly:
   the assertion keywords the backends do not implement (``not``, ``uniqueItems``,
   ``minProperties``...) dropped and ``oneOf`` read as ``anyOf``, each step provably a relaxation,
   so the constraint never blocks an instance the schema accepts; the rest is still enforced.
   If that does not compile either, the same with every ``pattern`` dropped too;
2. *shape*: any JSON value of the schema's top-level type (``{"type": "object"}`` for an object
   schema, ``{}`` when the type is unknown).

Output of a relaxed handle parses as JSON, but the schema must still be checked (the SDK
validates and retries).

Cache: an LRU of compiled prototypes keyed by ``(spec.to_cache_key(), tokenizer fingerprint)``; a
hit returns a handle whose matcher is a clone of the prototype (no recompilation).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from instructor_py.common.errors import (
    ConstraintCompileError,
    ConstraintTimeoutError,
    InvalidSchemaError,
)
from instructor_py.constraints.kinds import ConstraintType
from instructor_py.constraints.spec import ConstraintOptions, ConstraintSpec, Whitespace
from instructor_py.engine.backends import installed_backends
from instructor_py.engine.backends.base import Backend, BackendMatcher
from instructor_py.engine.bitmask import Bitmask, allocate_bitmask
from instructor_py.engine.handle import CompiledGrammarHandle, InstrumentedMatcher
from instructor_py.engine.relax import coarse_schema, relax_schema
from instructor_py.engine.stats import BackendDecline, OrchestratorStats, StatsRecorder
from instructor_py.engine.timeout import lane_busy, run_with_timeout
from instructor_py.engine.tokenizer import TokenizerInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    prototype: BackendMatcher
    backend: str
    exact: bool
    relaxed_reason: str | None
    fallback_reasons: tuple[str, ...]


class StructuredOutputOrchestrator:
    """Compiles constraints for one tokenizer through pluggable backends.

    ``backends`` (default: every installed backend, llguidance first and default);
    ``cache_size``: compiled grammars kept; ``compile_timeout_s``: per-backend time limit.
    """

    def __init__(
        self,
        tokenizer_info: TokenizerInfo,
        *,
        backends: Sequence[Backend] | None = None,
        cache_size: int = 64,
        compile_timeout_s: float | None = 10.0,
    ) -> None:
        self._info = tokenizer_info
        self._backends: dict[str, Backend] = {}
        self._default: str | None = None
        self._cache: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._compiling: dict[tuple[str, str], threading.Lock] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._stats = StatsRecorder()
        self.compile_timeout_s = compile_timeout_s
        self._relax_started: dict[str, float] = {}  # spec key -> when its exact tier began
        self._listeners: list[Callable[[BackendDecline], None]] = []
        for backend in installed_backends(tokenizer_info) if backends is None else backends:
            self.register_backend(backend)

    # --- registry ---------------------------------------------------------------------------

    @property
    def tokenizer_info(self) -> TokenizerInfo:
        return self._info

    @property
    def backend_names(self) -> tuple[str, ...]:
        return tuple(self._backends)

    @property
    def default_backend(self) -> str | None:
        return self._default

    def get_backend(self, name: str) -> Backend:
        try:
            return self._backends[name]
        except KeyError:
            raise ConstraintCompileError(
                f"no backend named {name!r}; registered: {', '.join(self._backends) or 'none'}."
            ) from None

    def register_backend(self, backend: Backend, set_as_default: bool = False) -> None:
        """Add (or replace) a backend; the first one registered is the default."""
        with self._lock:
            self._backends[backend.name] = backend
            if set_as_default or self._default is None:
                self._default = backend.name
            self._cache.clear()

    def add_decline_listener(self, listener: Callable[[BackendDecline], None]) -> None:
        """Call ``listener(decline)`` whenever a backend skips or fails a constraint (from the
        compiling thread; an exception in a listener is logged, never raised)."""
        if not callable(listener):
            raise TypeError("add_decline_listener: the listener must be callable.")
        with self._lock:
            self._listeners.append(listener)

    def remove_decline_listener(self, listener: Callable[[BackendDecline], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _declined(self, backend: str, spec: ConstraintSpec, reason: str, *, skipped: bool) -> str:
        """Record a decline (stats, log, listeners); returns the handle's fallback reason."""
        record = BackendDecline(backend, spec.describe(), spec.kind.value, reason, skipped)
        self._stats.declined(record)
        level = logging.INFO if skipped else logging.WARNING
        logger.log(
            level,
            "constraint backend %s declined %s (%s)",
            backend,
            record.constraint,
            reason,
            extra={"backend": backend, "constraint": record.constraint, "reason": reason},
        )
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(record)
            except Exception:  # a listener must not break compilation
                logger.exception("a decline listener raised")
        return f"{backend}: skipped ({reason})" if skipped else f"{backend}: {reason}"

    def _candidates(self, spec: ConstraintSpec) -> list[Backend]:
        """The default backend first, except that a backend naming ``spec.kind`` in its
        ``preferred_kinds`` (the guidance backend for templates) goes before it."""
        order = list(self._backends.values())
        order.sort(
            key=lambda b: (
                spec.kind not in getattr(b, "preferred_kinds", ()),
                b.name != self._default,
            )
        )
        return order

    # --- compilation -------------------------------------------------------------------------

    def compile(self, spec: ConstraintSpec) -> CompiledGrammarHandle:
        """A handle with a fresh matcher for ``spec`` (from the cache when possible).

        Thread-safe; concurrent calls for the same spec compile it once (the others wait and get
        a cache hit).
        """
        key = (spec.to_cache_key(), self._info.fingerprint)
        entry = self._lookup(key)
        if entry is None:
            with self._lock:
                key_lock = self._compiling.setdefault(key, threading.Lock())
            with key_lock:
                entry = self._lookup(key)
                if entry is None:
                    try:
                        return self._compile_and_store(spec, key)
                    finally:
                        with self._lock:
                            self._compiling.pop(key, None)
        self._stats.cache(True)
        matcher = cast(BackendMatcher, entry.prototype.clone())
        return self._handle(spec, entry, matcher, cache_hit=True, compile_ms=0.0)

    def _lookup(self, key: tuple[str, str]) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
            return entry

    def _compile_and_store(
        self, spec: ConstraintSpec, key: tuple[str, str]
    ) -> CompiledGrammarHandle:
        self._stats.cache(False)
        t0 = time.perf_counter()
        try:
            entry = self._compile_uncached(spec)
        except Exception:
            self._stats.error()
            raise
        compile_ms = (time.perf_counter() - t0) * 1000
        matcher = cast(BackendMatcher, entry.prototype.clone())
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return self._handle(spec, entry, matcher, cache_hit=False, compile_ms=compile_ms)

    def _handle(
        self,
        spec: ConstraintSpec,
        entry: _Entry,
        matcher: BackendMatcher,
        *,
        cache_hit: bool,
        compile_ms: float,
    ) -> CompiledGrammarHandle:
        inst = InstrumentedMatcher(matcher, entry.backend, self._stats.mask_sink(entry.backend))
        return CompiledGrammarHandle(
            spec,
            inst,
            entry.backend,
            entry.exact,
            entry.relaxed_reason,
            cache_hit,
            entry.fallback_reasons,
            compile_ms,
        )

    def _compile_uncached(self, spec: ConstraintSpec) -> _Entry:
        self._relax_started.setdefault(spec.to_cache_key(), time.perf_counter())
        try:
            return self._compile_tiers(spec)
        finally:
            self._relax_started.pop(spec.to_cache_key(), None)

    def _compile_tiers(self, spec: ConstraintSpec) -> _Entry:
        if not self._backends:
            raise ConstraintCompileError(
                "no constraint backend is installed; install the 'local' extra (llguidance) "
                "or 'outlines' (outlines-core)."
            )
        reasons: list[str] = []
        timed_out = False
        for backend in self._candidates(spec):
            why = backend.unsupported_reason(spec)
            if why is None and lane_busy(backend.name):
                why = "an earlier compilation is still running past its time limit"
            if why is not None:
                reasons.append(self._declined(backend.name, spec, why, skipped=True))
                continue
            t0 = time.perf_counter_ns()
            try:
                matcher = run_with_timeout(
                    lambda b=backend: b.compile(spec),  # type: ignore[misc]
                    self.compile_timeout_s,
                    f"{spec.describe()} with {backend.name}",
                    backend.name,
                )
            except ConstraintTimeoutError as exc:
                self._stats.compile(backend.name, time.perf_counter_ns() - t0, ok=False)
                reasons.append(self._declined(backend.name, spec, str(exc), skipped=False))
                timed_out = True
                continue
            except (ConstraintCompileError, InvalidSchemaError, ValueError, RuntimeError) as exc:
                self._stats.compile(backend.name, time.perf_counter_ns() - t0, ok=False)
                reasons.append(self._declined(backend.name, spec, str(exc), skipped=False))
                continue
            self._stats.compile(backend.name, time.perf_counter_ns() - t0, ok=True)
            return _Entry(matcher, backend.name, True, None, tuple(reasons))
        if spec.kind == "json_schema" and spec.options.allow_relaxed:
            return self._relaxed(spec, reasons)
        detail = "\n  ".join(reasons) or "no backend supports it"
        error = (
            ConstraintTimeoutError if timed_out and len(reasons) == 1 else ConstraintCompileError
        )
        raise error(f"could not compile {spec.describe()}:\n  {detail}")

    def _check_budget(self, spec: ConstraintSpec, t0: float, reasons: list[str]) -> None:
        """The relaxed tiers share the exact tier's budget (the time limit per backend): a
        hostile schema must not get a fresh limit per tier."""
        if self.compile_timeout_s is None:
            return
        budget = self.compile_timeout_s * max(1, len(self._backends))
        if time.perf_counter() - t0 > budget:
            raise ConstraintTimeoutError(
                f"could not compile {spec.describe()} within {budget:g} s (compile_timeout_s="
                f"{self.compile_timeout_s:g} per backend), not even relaxed:\n  "
                + "\n  ".join(reasons)
            )

    def _relaxed(self, spec: ConstraintSpec, reasons: list[str]) -> _Entry:
        t0 = self._relax_started.get(spec.to_cache_key(), time.perf_counter())
        exact_failures = "; ".join(reasons)
        lenient_failure = "the schema has nothing to relax"
        tried: list[Any] = [spec.schema]
        for drop_patterns in (False, True):
            loose = relax_schema(spec.schema, drop_patterns=drop_patterns)
            if loose in tried:
                continue
            tried.append(loose)
            try:
                self._check_budget(spec, t0, reasons)
                inner = self._compile_uncached(_derived(spec, loose))
            except (ConstraintCompileError, InvalidSchemaError) as exc:
                lenient_failure = str(exc)
                continue
            dropped = " and every pattern" if drop_patterns else ""
            why = (
                "no backend compiles the schema exactly; relaxed to the schema without the "
                f"keywords the backends do not implement{dropped} ({exact_failures})"
            )
            self._stats.relaxed(why)
            return _Entry(inner.prototype, inner.backend, False, why, tuple(reasons))
        schema = coarse_schema(spec.schema)
        shape = _derived(spec, schema)
        self._check_budget(spec, t0, reasons)
        try:
            inner = self._compile_uncached(shape)
        except ConstraintCompileError as exc:
            raise ConstraintCompileError(
                f"could not compile {spec.describe()} exactly nor relaxed:\n  "
                + "\n  ".join(reasons)
                + f"\n  lenient: {lenient_failure}\n  relaxed: {exc}"
            ) from exc
        kind = schema.get("type", "any JSON value")
        why = f"no backend compiles the schema exactly, even leniently; relaxed to {kind} ({exact_failures})"
        self._stats.relaxed(why)
        return _Entry(inner.prototype, inner.backend, False, why, tuple(reasons))

    def compile_json_schema(
        self,
        schema: Mapping[str, Any] | str | bool,
        *,
        whitespace: Whitespace = "compact",
        max_nesting: int = 8,
        allow_relaxed: bool = True,
    ) -> CompiledGrammarHandle:
        spec = ConstraintSpec.json_schema(
            schema, whitespace=whitespace, max_nesting=max_nesting, allow_relaxed=allow_relaxed
        )
        return self.compile(spec)

    def compile_regex(self, pattern: str) -> CompiledGrammarHandle:
        return self.compile(ConstraintSpec.regex(pattern))

    # --- misc ---------------------------------------------------------------------------------

    def allocate_bitmask(self, batch_size: int = 1) -> Bitmask:
        """A zeroed bitmask ``[batch_size, ceil(logits_width/32)]`` for this tokenizer."""
        return allocate_bitmask(batch_size, self._info.logits_width)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    @property
    def cache_len(self) -> int:
        return len(self._cache)

    def get_stats(self) -> OrchestratorStats:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()


class AsyncStructuredOutputOrchestrator(StructuredOutputOrchestrator):
    """The orchestrator plus ``acompile*``: the same compilation, run in a worker thread."""

    async def acompile(self, spec: ConstraintSpec) -> CompiledGrammarHandle:
        return await asyncio.to_thread(self.compile, spec)


def _derived(spec: ConstraintSpec, schema: Any) -> ConstraintSpec:
    """A relaxed variant of a JSON-schema spec. Relaxing only removes constraints from a schema
    that already passed meta-validation, so it is not validated again (on a large schema that
    costs seconds per tier)."""
    text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
    options = ConstraintOptions(spec.options.whitespace, spec.options.max_nesting, False)
    return ConstraintSpec(ConstraintType.JSON_SCHEMA, text, None, options)
