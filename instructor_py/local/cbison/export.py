"""Exporting our engine: `export_factory(orchestrator)` -> a real ``cbison_factory``.

Any C inference system can drive it: ``new_matcher`` compiles through the orchestrator (every
grammar type of :mod:`~instructor_py.local.cbison.grammar_types`, with its backends, fallback and
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
import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instructor_py.errors import CbisonError
from instructor_py.local.backends.base import BackendMatcher
from instructor_py.local.bitmask import Bitmask, bitmask_words
from instructor_py.local.cbison.abi import (
    FACTORY_MAGIC,
    FACTORY_VERSION_MAJOR,
    FACTORY_VERSION_MINOR,
    CbisonFactoryStruct,
    CloneMatcherFn,
    ComputeFfTokensFn,
    ComputeMaskFn,
    ComputeMasksFn,
    ConsumeTokensFn,
    FreeMatcherFn,
    GetErrorFn,
    MatcherBoolFn,
    NewMatcherFn,
    RefCountFn,
    ResetFn,
    RollbackFn,
    ValidateGrammarFn,
    ValidateTokensFn,
    mask_byte_len,
)
from instructor_py.local.cbison.grammar_types import spec_for_grammar
from instructor_py.local.cbison.refcount import LOCK, Handle, Registry, write_c_string, write_u32s
from instructor_py.local.cbison.tokenizer import IMPL_MAGIC
from instructor_py.local.handle import CompiledGrammarHandle, InstrumentedMatcher
from instructor_py.local.orchestrator import StructuredOutputOrchestrator

_VIEWS_KEPT = 64
_UNKNOWN = ctypes.create_string_buffer(
    b"cbison: unknown or already freed matcher (the pointer is not a live matcher of this engine)"
)


@dataclass(eq=False)
class _Factory:
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


class _Matcher:
    __slots__ = ("dest", "error", "error_buf", "factory", "matcher", "mbl", "view")

    def __init__(
        self, factory: int, matcher: InstrumentedMatcher | None, error: str | None
    ) -> None:
        self.factory = factory
        self.matcher = matcher
        self.error: str | None = None
        self.error_buf: Any = None
        rec = _FACTORIES.live.get(factory)
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


_FACTORIES: Registry[_Factory] = Registry("cbison_factory")
_MATCHERS: dict[int, _Matcher] = {}
_IDS = itertools.count(1)


def _new_id(state: _Matcher) -> int:
    mid = 0x1000 + 16 * next(_IDS)  # opaque, never reused, never dereferenced
    with LOCK:
        _MATCHERS[mid] = state
        _FACTORIES.incr(state.factory)  # a live matcher keeps its factory alive
    return mid


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)


# --- factory functions ---------------------------------------------------------------------------


def _validate_grammar(
    api: int | None, gtype: int | None, grammar: int | None, msg: int | None, msg_len: int
) -> int:
    rec = _FACTORIES.live.get(api or 0)
    if rec is None:
        write_c_string(msg, msg_len, "cbison: unknown or freed factory")
        return -1
    try:
        handle = rec.payload.compile(
            ctypes.string_at(gtype) if gtype else None,
            ctypes.string_at(grammar) if grammar else None,
        )
    except Exception as exc:
        write_c_string(msg, msg_len, _describe(exc))
        return -1
    if not handle.exact:
        write_c_string(msg, msg_len, f"relaxed: {handle.relaxed_reason}")
        return 1
    write_c_string(msg, msg_len, "")
    return 0


def _new_matcher(api: int | None, gtype: int | None, grammar: int | None) -> int:
    rec = _FACTORIES.live.get(api or 0)
    if rec is None:  # still a matcher (CBISON never returns NULL), in its error state
        return _new_id(_Matcher(0, None, "cbison: new_matcher on an unknown or freed factory"))
    try:
        handle = rec.payload.compile(
            ctypes.string_at(gtype) if gtype else None,
            ctypes.string_at(grammar) if grammar else None,
        )
        state = _Matcher(rec.address, handle.matcher, None)
    except Exception as exc:
        state = _Matcher(rec.address, None, _describe(exc))
    return _new_id(state)


def _get_error(m: int | None) -> int:
    st = _MATCHERS.get(m or 0)
    if st is None:
        return ctypes.addressof(_UNKNOWN)
    return 0 if st.error_buf is None else ctypes.addressof(st.error_buf)


def _compute_mask(m: int | None, dest: int | None, size: int) -> int:
    st = _MATCHERS.get(m or 0)
    if st is None:
        return -1
    matcher = st.matcher
    if matcher is None or st.error is not None:
        return -1
    if size != st.mbl or not dest:
        return st.fail(f"compute_mask: mask_byte_len {size} (expected {st.mbl}) or NULL buffer")
    try:
        if dest != st.dest:
            st.view = _FACTORIES.live[st.factory].payload.view(dest)
            st.dest = dest
        matcher.fill_next_token_bitmask(st.view, 0)
    except Exception as exc:
        return st.fail(f"compute_mask: {_describe(exc)}")
    return 0


def _tokens(ptr: int | None, n: int) -> list[int]:
    if n and not ptr:
        raise CbisonError("the token array is NULL")
    return list((ctypes.c_uint32 * n).from_address(ptr or 0)) if n else []


def _live(m: int | None) -> tuple[_Matcher, InstrumentedMatcher] | None:
    st = _MATCHERS.get(m or 0)
    if st is None or st.matcher is None or st.error is not None:
        return None
    return st, st.matcher


def _consume_tokens(m: int | None, tokens: int | None, n: int) -> int:
    got = _live(m)
    if got is None:
        return -1
    st, matcher = got
    try:
        ids = _tokens(tokens, n)
        before = matcher.tokens_accepted
        if matcher.accept_tokens(ids):
            return 0
        k = matcher.tokens_accepted - before
        return st.fail(f"consume_tokens: token {ids[k]} (at {k}) is not allowed by the grammar")
    except Exception as exc:
        return st.fail(f"consume_tokens: {_describe(exc)}")


def _is_accepting(m: int | None) -> bool:
    got = _live(m)
    if got is None:
        return False
    try:
        return bool(got[1].is_accepting())
    except Exception as exc:  # never let an exception cross into C
        got[0].fail(f"is_accepting: {_describe(exc)}")
        return False


def _is_stopped(m: int | None) -> bool:
    got = _live(m)
    if got is None:
        return True  # an unknown matcher or one in its error state: a forced stop
    try:
        return bool(got[1].is_terminated())
    except Exception as exc:
        got[0].fail(f"is_stopped: {_describe(exc)}")
        return True


def _validate_tokens(m: int | None, tokens: int | None, n: int) -> int:
    got = _live(m)
    if got is None:
        return -1
    try:
        return int(got[1].validate_tokens(_tokens(tokens, n)))
    except Exception as exc:
        return got[0].fail(f"validate_tokens: {_describe(exc)}")


def _compute_ff_tokens(m: int | None, out: int | None, out_len: int) -> int:
    got = _live(m)
    if got is None:
        return -1
    try:
        ids = got[1].compute_ff_tokens()[:out_len]
        if ids and not out:
            raise CbisonError("the output array is NULL")
        write_u32s(out or 0, ids)
        return len(ids)
    except Exception as exc:
        return got[0].fail(f"compute_ff_tokens: {_describe(exc)}")


def _free_matcher(m: int | None) -> None:
    with LOCK:
        st = _MATCHERS.pop(m or 0, None)
        if st is not None:
            _FACTORIES.decr(st.factory)


def _rollback(m: int | None, n: int) -> int:
    got = _live(m)
    if got is None:
        return -1
    try:
        got[1].rollback(n)
        return 0
    except Exception as exc:
        return got[0].fail(f"rollback: {_describe(exc)}")


def _reset(m: int | None) -> int:
    got = _live(m)
    if got is None:
        return -1
    try:
        got[1].reset()
        return 0
    except Exception as exc:
        return got[0].fail(f"reset: {_describe(exc)}")


def _clone_matcher(m: int | None) -> int:
    st = _MATCHERS.get(m or 0)
    if st is None:
        return 0
    try:
        inner = st.matcher.clone() if st.matcher is not None else None
        return _new_id(_Matcher(st.factory, inner, st.error))
    except Exception:
        return 0


def _compute_masks(api: int | None, reqs: int | None, n: int) -> int:
    rec = _FACTORIES.live.get(api or 0)
    if rec is None or (n and not reqs):
        return -1
    if n == 0:
        return 0
    fac = rec.payload
    raw = (ctypes.c_void_p * (2 * n)).from_address(reqs or 0)
    rc = 0
    groups: dict[str, list[tuple[_Matcher, InstrumentedMatcher, int]]] = {}
    for i in range(n):
        got = _live(raw[2 * i])
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
    fac: _Factory, backend_name: str, items: Sequence[tuple[_Matcher, Any, int]]
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
            rc = st.fail(f"compute_masks: {_describe(exc)}")
    return rc


_CALLBACKS: dict[str, Any] = {
    "incr_ref_count": RefCountFn(_FACTORIES.incr),
    "decr_ref_count": RefCountFn(_FACTORIES.decr),
    "validate_grammar": ValidateGrammarFn(_validate_grammar),
    "new_matcher": NewMatcherFn(_new_matcher),
    "get_error": GetErrorFn(_get_error),
    "compute_mask": ComputeMaskFn(_compute_mask),
    "consume_tokens": ConsumeTokensFn(_consume_tokens),
    "is_accepting": MatcherBoolFn(_is_accepting),
    "is_stopped": MatcherBoolFn(_is_stopped),
    "validate_tokens": ValidateTokensFn(_validate_tokens),
    "compute_ff_tokens": ComputeFfTokensFn(_compute_ff_tokens),
    "free_matcher": FreeMatcherFn(_free_matcher),
    "rollback": RollbackFn(_rollback),
    "reset": ResetFn(_reset),
    "clone_matcher": CloneMatcherFn(_clone_matcher),
    "compute_masks": ComputeMasksFn(_compute_masks),
}


class ExportedFactory(Handle[_Factory]):
    """Our ``cbison_factory`` over an orchestrator: pass ``.address`` to C code."""

    def __init__(self, orchestrator: StructuredOutputOrchestrator, allow_relaxed: bool) -> None:
        info = orchestrator.tokenizer_info
        s = CbisonFactoryStruct()
        s.magic = FACTORY_MAGIC
        s.impl_magic = IMPL_MAGIC
        s.version_major = FACTORY_VERSION_MAJOR
        s.version_minor = FACTORY_VERSION_MINOR
        s.n_vocab = info.vocab_size
        s.mask_byte_len = mask_byte_len(info.vocab_size)
        s.eos_token_id = info.eos_token_ids[0]
        for name, cb in _CALLBACKS.items():
            setattr(s, name, cb)
        state = _Factory(
            orchestrator,
            allow_relaxed,
            info.vocab_size,
            bitmask_words(info.vocab_size),
            mask_byte_len(info.vocab_size),
        )
        self.orchestrator = orchestrator
        super().__init__(_FACTORIES, _FACTORIES.add(s, state))

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
    return len(_FACTORIES.live), len(_MATCHERS)
