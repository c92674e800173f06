"""The state behind our exported factories: what the C functions find by address.

``FACTORIES`` maps a ``cbison_factory`` address to its :class:`FactoryState` (the orchestrator,
the mask size, cached numpy views of C buffers) while its reference count is above 0;
``MATCHERS`` maps a matcher handle to its :class:`MatcherState`. A handle is an opaque id, never
reused and never dereferenced, so a freed or foreign pointer is detected instead of read.
"""

from __future__ import annotations

import ctypes
import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instructor_py.common.errors import CbisonError
from instructor_py.engine.bitmask import Bitmask
from instructor_py.engine.cbison.grammar_types import spec_for_grammar
from instructor_py.engine.cbison.refcount import LOCK, Registry
from instructor_py.engine.handle import CompiledGrammarHandle, InstrumentedMatcher
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator

_VIEWS_KEPT = 64
UNKNOWN = ctypes.create_string_buffer(
    b"cbison: unknown or already freed matcher (the pointer is not a live matcher of this engine)"
)


@dataclass(eq=False)
class FactoryState:
    orch: StructuredOutputOrchestrator
    allow_relaxed: bool
    n_vocab: int
    words: int
    mbl: int
    views: OrderedDict[tuple[int, int], Bitmask] = field(default_factory=OrderedDict)

    def view(self, address: int, rows: int = 1) -> Bitmask:
        """A numpy ``[rows, words]`` view of C memory (cached: callers reuse their buffers)."""
        key = (address, rows)
        v = self.views.get(key)
        if v is None:
            raw = (ctypes.c_int32 * (rows * self.words)).from_address(address)
            v = np.ctypeslib.as_array(raw).reshape(rows, self.words)
            self.views[key] = v
            if len(self.views) > _VIEWS_KEPT:
                self.views.popitem(last=False)
        return v

    def compile(self, grammar_type: bytes | None, grammar: bytes | None) -> CompiledGrammarHandle:
        if grammar_type is None or grammar is None:
            raise CbisonError("grammar_type and grammar must not be NULL.")
        spec = spec_for_grammar(grammar_type.decode("utf-8"), grammar.decode("utf-8"))
        if self.allow_relaxed and spec.kind == "json_schema":
            spec = spec.with_options(allow_relaxed=True)
        return self.orch.compile(spec)


class MatcherState:
    __slots__ = ("dest", "error", "error_buf", "factory", "matcher", "mbl", "view")

    def __init__(
        self, factory: int, matcher: InstrumentedMatcher | None, error: str | None
    ) -> None:
        self.factory = factory
        self.matcher = matcher
        self.error: str | None = None
        self.error_buf: Any = None
        rec = FACTORIES.live.get(factory)
        self.mbl = rec.payload.mbl if rec is not None else 0
        self.dest = 0  # the last mask buffer and its numpy view (callers reuse their buffers)
        self.view: Any = None
        if error is not None:
            self.fail(error)

    def fail(self, message: str) -> int:
        if self.error is None:  # the first error stays (CBISON errors are sticky)
            self.error = message
            self.error_buf = ctypes.create_string_buffer(message.encode("utf-8", "replace"))
        return -1


FACTORIES: Registry[FactoryState] = Registry("cbison_factory")
MATCHERS: dict[int, MatcherState] = {}
_IDS = itertools.count(1)


def new_id(state: MatcherState) -> int:
    mid = 0x1000 + 16 * next(_IDS)  # opaque, never reused, never dereferenced
    with LOCK:
        MATCHERS[mid] = state
        FACTORIES.incr(state.factory)  # a live matcher keeps its factory alive
    return mid


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)


def live(m: int | None) -> tuple[MatcherState, InstrumentedMatcher] | None:
    """The state and matcher of a usable matcher handle (None: unknown, freed or in error)."""
    st = MATCHERS.get(m or 0)
    if st is None or st.matcher is None or st.error is not None:
        return None
    return st, st.matcher
