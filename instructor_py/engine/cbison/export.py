"""Exporting our engine: `export_factory(orchestrator)` -> a real ``cbison_factory``.

Any C inference system can drive it: ``new_matcher`` compiles through the orchestrator (every
grammar type of :mod:`~instructor_py.engine.cbison.grammar_types`, with its backends, fallback and
compile cache), the matchers are the orchestrator's, ``compute_mask`` writes straight into the
caller's buffer, ``compute_masks`` fills a batch per backend (llguidance in parallel native
threads), and ``compute_ff_tokens``, ``validate_tokens``, ``rollback``, ``reset`` and
``clone_matcher`` are all provided.

Errors follow CBISON: a bad grammar gives a matcher whose ``get_error`` says why; a refused
token, a wrong ``mask_byte_len`` or an impossible rollback put the matcher in its (sticky) error
state and return -1. A matcher handle is an opaque id, never reused: a freed or unknown matcher
is detected (-1, and ``get_error`` says so) instead of touching freed memory. A matcher keeps
its factory alive; the factory lives until its reference count drops to 0.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from instructor_py.common.errors import CbisonError
from instructor_py.engine.backends.base import BackendMatcher
from instructor_py.engine.bitmask import bitmask_words
from instructor_py.engine.cbison.abi import (
    FACTORY_MAGIC,
    FACTORY_VERSION_MAJOR,
    FACTORY_VERSION_MINOR,
    CbisonFactoryStruct,
    ComputeMasksFn,
    NewMatcherFn,
    RefCountFn,
    ValidateGrammarFn,
    mask_byte_len,
)
from instructor_py.engine.cbison.export_matcher import MATCHER_CALLBACKS
from instructor_py.engine.cbison.export_state import (
    FACTORIES,
    MATCHERS,
    FactoryState,
    MatcherState,
    describe,
    live,
    new_id,
)
from instructor_py.engine.cbison.refcount import Handle, write_c_string
from instructor_py.engine.cbison.tokenizer import write_header
from instructor_py.engine.handle import InstrumentedMatcher
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator


def _validate_grammar(
    api: int | None, gtype: int | None, grammar: int | None, msg: int | None, msg_len: int
) -> int:
    rec = FACTORIES.live.get(api or 0)
    if rec is None:
        write_c_string(msg, msg_len, "cbison: unknown or freed factory")
        return -1
    try:
        handle = rec.payload.compile(
            ctypes.string_at(gtype) if gtype else None,
            ctypes.string_at(grammar) if grammar else None,
        )
    except Exception as exc:
        write_c_string(msg, msg_len, describe(exc))
        return -1
    if not handle.exact:
        write_c_string(msg, msg_len, f"relaxed: {handle.relaxed_reason}")
        return 1
    write_c_string(msg, msg_len, "")
    return 0


def _new_matcher(api: int | None, gtype: int | None, grammar: int | None) -> int:
    rec = FACTORIES.live.get(api or 0)
    if rec is None:  # still a matcher (CBISON never returns NULL), in its error state
        return new_id(MatcherState(0, None, "cbison: new_matcher on an unknown or freed factory"))
    try:
        handle = rec.payload.compile(
            ctypes.string_at(gtype) if gtype else None,
            ctypes.string_at(grammar) if grammar else None,
        )
        state = MatcherState(rec.address, handle.matcher, None)
    except Exception as exc:
        state = MatcherState(rec.address, None, describe(exc))
    return new_id(state)


def _compute_masks(api: int | None, reqs: int | None, n: int) -> int:
    rec = FACTORIES.live.get(api or 0)
    if rec is None or (n and not reqs):
        return -1
    if n == 0:
        return 0
    fac = rec.payload
    raw = (ctypes.c_void_p * (2 * n)).from_address(reqs or 0)
    rc = 0
    groups: dict[str, list[tuple[MatcherState, InstrumentedMatcher, int]]] = {}
    for i in range(n):
        got = live(raw[2 * i])
        dest = raw[2 * i + 1]
        if got is None or not dest:
            rc = -1
            if got is not None:
                got[0].fail("compute_masks: NULL mask_dest")
            continue
        groups.setdefault(got[1].backend, []).append((got[0], got[1], dest))
    for backend_name, items in groups.items():
        if _fill_group(fac, backend_name, items) != 0:
            rc = -1
    return rc


def _fill_group(
    fac: FactoryState, backend_name: str, items: Sequence[tuple[MatcherState, Any, int]]
) -> int:
    """One backend batch over rows of one block when the buffers are rows of one array, else
    one mask at a time."""
    base = min(d for _, _, d in items)
    offsets = [d - base for _, _, d in items]
    if (
        len(items) > 1
        and all(o % fac.mbl == 0 for o in offsets)
        and len(set(offsets)) == len(offsets)
    ):
        rows = max(offsets) // fac.mbl + 1
        pairs: list[tuple[BackendMatcher, int]] = [
            (m.inner, o // fac.mbl) for (_, m, _), o in zip(items, offsets, strict=True)
        ]
        try:
            fac.orch.get_backend(backend_name).fill_bitmask_batch(pairs, fac.view(base, rows))
            return 0
        except Exception:
            pass  # fall back on one mask at a time, which names the failing matcher
    rc = 0
    for st, matcher, dest in items:
        try:
            matcher.fill_next_token_bitmask(fac.view(dest), 0)
        except Exception as exc:
            rc = st.fail(f"compute_masks: {describe(exc)}")
    return rc


_CALLBACKS: dict[str, Any] = {
    "incr_ref_count": RefCountFn(FACTORIES.incr),
    "decr_ref_count": RefCountFn(FACTORIES.decr),
    "validate_grammar": ValidateGrammarFn(_validate_grammar),
    "new_matcher": NewMatcherFn(_new_matcher),
    "compute_masks": ComputeMasksFn(_compute_masks),
    **MATCHER_CALLBACKS,
}


class ExportedFactory(Handle[FactoryState]):
    """Our ``cbison_factory`` over an orchestrator: pass ``.address`` to C code."""

    def __init__(self, orchestrator: StructuredOutputOrchestrator, allow_relaxed: bool) -> None:
        info = orchestrator.tokenizer_info
        s = CbisonFactoryStruct()
        write_header(s, FACTORY_MAGIC, (FACTORY_VERSION_MAJOR, FACTORY_VERSION_MINOR), info)
        s.mask_byte_len = mask_byte_len(info.vocab_size)
        for name, cb in _CALLBACKS.items():
            setattr(s, name, cb)
        state = FactoryState(
            orchestrator,
            allow_relaxed,
            info.vocab_size,
            bitmask_words(info.vocab_size),
            mask_byte_len(info.vocab_size),
        )
        self.orchestrator = orchestrator
        super().__init__(FACTORIES, FACTORIES.add(s, state))

    def __repr__(self) -> str:
        return f"ExportedFactory(n_vocab={self.orchestrator.tokenizer_info.vocab_size}, refs={self.ref_count})"


def export_factory(
    orchestrator: StructuredOutputOrchestrator, *, allow_relaxed: bool = False
) -> ExportedFactory:
    """A real ``cbison_factory`` whose matchers are ``orchestrator``'s (reference count 1, held
    by the returned handle). ``allow_relaxed``: a JSON schema no backend compiles exactly may be
    relaxed (``validate_grammar`` then returns 1 with the reason); by default it is an error."""
    if not isinstance(orchestrator, StructuredOutputOrchestrator):
        raise CbisonError(
            f"export_factory: expected a StructuredOutputOrchestrator, got {type(orchestrator).__name__}."
        )
    return ExportedFactory(orchestrator, allow_relaxed)


def live_exports() -> tuple[int, int]:
    """``(factories, matchers)`` exported and still alive."""
    return len(FACTORIES.live), len(MATCHERS)
