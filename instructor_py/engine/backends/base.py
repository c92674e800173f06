"""The backend protocol: something that compiles a `ConstraintSpec` into a `Matcher`.

A backend is built for one :class:`~instructor_py.engine.tokenizer.TokenizerInfo`. Backends whose
package is not installed are simply not registered (see :mod:`instructor_py.engine.backends`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.bitmask import Bitmask
from instructor_py.engine.matcher import Matcher


@runtime_checkable
class BackendMatcher(Matcher, Protocol):
    """A backend's matcher: the :class:`Matcher` protocol plus how many tokens it has accepted."""

    @property
    def tokens_accepted(self) -> int: ...


@dataclass(frozen=True)
class BackendStats:
    """Counters of one backend (a snapshot)."""

    name: str
    compiles: int = 0
    compile_errors: int = 0
    compile_seconds: float = 0.0


class StatsCounter:
    """Thread-safe mutable counters behind :class:`BackendStats`."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._compiles = 0
        self._errors = 0
        self._seconds = 0.0

    def record(self, seconds: float, ok: bool) -> None:
        with self._lock:
            self._seconds += seconds
            if ok:
                self._compiles += 1
            else:
                self._errors += 1

    def snapshot(self) -> BackendStats:
        with self._lock:
            return BackendStats(self._name, self._compiles, self._errors, self._seconds)


@runtime_checkable
class Backend(Protocol):
    """Compiles constraints for one tokenizer."""

    @property
    def name(self) -> str: ...

    def supports(self, spec: ConstraintSpec) -> bool:
        """Whether this backend can compile ``spec`` exactly (without trying)."""
        ...

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        """Why :meth:`supports` is False (None when it is True)."""
        ...

    def compile(self, spec: ConstraintSpec) -> BackendMatcher:
        """A fresh matcher; raises ConstraintCompileError (what failed and where) on failure."""
        ...

    def allocate_bitmask(self, n: int) -> Bitmask:
        """A zeroed bitmask ``[n, ceil(logits_width/32)]`` for this backend's tokenizer."""
        ...

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        """Fill row ``index`` for every ``(matcher, index)``; matchers come from this backend."""
        ...

    def get_stats(self) -> BackendStats: ...
