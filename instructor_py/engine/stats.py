"""Engine statistics: compiles, cache hits/misses, compile and mask times, fallbacks, errors.

A fallback is one :class:`BackendDecline`: a backend skipped a constraint up front (it does not
support it) or failed to compile it, so the next backend (or the relaxed tier) took over. Each
is counted in ``fallbacks``, kept per backend (``per_backend[name].declines`` and the most recent
``recent_declines``) and in ``recent_fallback_reasons`` as text.

Mask times are kept in bounded reservoirs (the most recent 100 000 fills per backend); appending
to a ``deque`` is atomic under the GIL, so the hot path takes no lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

_RESERVOIR = 100_000


@dataclass(frozen=True)
class TimingSummary:
    """Count, mean, p50 and p99 of a series of durations, in microseconds."""

    count: int = 0
    mean_us: float = 0.0
    p50_us: float = 0.0
    p99_us: float = 0.0

    @classmethod
    def of_ns(cls, samples: Iterable[int]) -> TimingSummary:
        arr = np.fromiter(samples, dtype=np.float64)
        if arr.size == 0:
            return cls()
        us = arr / 1000.0
        return cls(
            int(arr.size),
            float(us.mean()),
            float(np.percentile(us, 50)),
            float(np.percentile(us, 99)),
        )


@dataclass(frozen=True)
class BackendDecline:
    """A backend declined a constraint: ``skipped`` up front (``unsupported_reason``) or failed
    to compile it. ``constraint`` describes the spec (kind and the start of its text)."""

    backend: str
    constraint: str
    kind: str
    reason: str
    skipped: bool

    def describe(self) -> str:
        how = "skipped" if self.skipped else "failed to compile"
        return f"{self.backend} {how} {self.constraint}: {self.reason}"


@dataclass(frozen=True)
class BackendSummary:
    """What one backend did through the orchestrator (``declines``: how many constraints it
    skipped or failed to compile; ``recent_declines``: the last ones, oldest first)."""

    name: str
    compiles: int = 0
    compile_errors: int = 0
    compile_ms_total: float = 0.0
    mask: TimingSummary = field(default_factory=TimingSummary)
    declines: int = 0
    recent_declines: tuple[BackendDecline, ...] = ()


@dataclass(frozen=True)
class OrchestratorStats:
    """A snapshot of :meth:`StructuredOutputOrchestrator.get_stats`."""

    compiles: int
    cache_hits: int
    cache_misses: int
    compile_ms_total: float
    compile_ms_mean: float
    mask: TimingSummary
    fallbacks: int
    relaxed: int
    errors: int
    recent_fallback_reasons: tuple[str, ...]
    per_backend: Mapping[str, BackendSummary]


class StatsRecorder:
    """Mutable, thread-safe collector behind :class:`OrchestratorStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._compiles: dict[str, int] = {}
            self._compile_errors: dict[str, int] = {}
            self._compile_ns: dict[str, int] = {}
            self._mask_ns: dict[str, deque[int]] = {}
            self._hits = 0
            self._misses = 0
            self._fallbacks = 0
            self._relaxed = 0
            self._errors = 0
            self._reasons: deque[str] = deque(maxlen=50)
            self._declines: dict[str, int] = {}
            self._recent_declines: dict[str, deque[BackendDecline]] = {}

    def mask_sink(self, backend: str) -> deque[int]:
        """The reservoir a matcher of ``backend`` appends its fill durations (ns) to."""
        with self._lock:
            sink = self._mask_ns.get(backend)
            if sink is None:
                sink = self._mask_ns[backend] = deque(maxlen=_RESERVOIR)
            return sink

    def cache(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1

    def compile(self, backend: str, ns: int, ok: bool) -> None:
        with self._lock:
            table = self._compiles if ok else self._compile_errors
            table[backend] = table.get(backend, 0) + 1
            self._compile_ns[backend] = self._compile_ns.get(backend, 0) + ns

    def declined(self, record: BackendDecline) -> None:
        """A backend skipped or failed a constraint: one fallback."""
        with self._lock:
            self._fallbacks += 1
            self._reasons.append(record.describe())
            name = record.backend
            self._declines[name] = self._declines.get(name, 0) + 1
            recent = self._recent_declines.get(name)
            if recent is None:
                recent = self._recent_declines[name] = deque(maxlen=20)
            recent.append(record)

    def relaxed(self, reason: str) -> None:
        with self._lock:
            self._relaxed += 1
            self._reasons.append(reason)

    def error(self) -> None:
        with self._lock:
            self._errors += 1

    def snapshot(self) -> OrchestratorStats:
        with self._lock:
            names = sorted(
                set(self._compiles)
                | set(self._compile_errors)
                | set(self._mask_ns)
                | set(self._declines)
            )
            per = {
                n: BackendSummary(
                    n,
                    self._compiles.get(n, 0),
                    self._compile_errors.get(n, 0),
                    self._compile_ns.get(n, 0) / 1e6,
                    TimingSummary.of_ns(list(self._mask_ns.get(n, ()))),
                    self._declines.get(n, 0),
                    tuple(self._recent_declines.get(n, ())),
                )
                for n in names
            }
            all_masks: list[int] = []
            for sink in self._mask_ns.values():
                all_masks.extend(sink)
            compiles = sum(self._compiles.values())
            total_ms = sum(self._compile_ns.values()) / 1e6
            attempts = compiles + sum(self._compile_errors.values())
            return OrchestratorStats(
                compiles=compiles,
                cache_hits=self._hits,
                cache_misses=self._misses,
                compile_ms_total=total_ms,
                compile_ms_mean=total_ms / attempts if attempts else 0.0,
                mask=TimingSummary.of_ns(all_masks),
                fallbacks=self._fallbacks,
                relaxed=self._relaxed,
                errors=self._errors,
                recent_fallback_reasons=tuple(self._reasons),
                per_backend=per,
            )
