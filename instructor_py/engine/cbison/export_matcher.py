"""The matcher functions of our exported ``cbison_factory`` (C -> our orchestrator's matchers).

Each finds its :class:`~instructor_py.engine.cbison.export_state.MatcherState` by handle and
never lets an exception cross into C: a failure returns -1 and puts the matcher in its sticky
error state, which ``get_error`` explains; an unknown or freed handle returns -1 and
``get_error`` says so.
"""

from __future__ import annotations

import ctypes
from typing import Any

from instructor_py.common.errors import CbisonError
from instructor_py.engine.cbison.abi import (
    CloneMatcherFn,
    ComputeFfTokensFn,
    ComputeMaskFn,
    ConsumeTokensFn,
    FreeMatcherFn,
    GetErrorFn,
    MatcherBoolFn,
    ResetFn,
    RollbackFn,
    ValidateTokensFn,
)
from instructor_py.engine.cbison.export_state import (
    FACTORIES,
    MATCHERS,
    UNKNOWN,
    MatcherState,
    describe,
    live,
    new_id,
)
from instructor_py.engine.cbison.refcount import LOCK, write_u32s


def _get_error(m: int | None) -> int:
    st = MATCHERS.get(m or 0)
    if st is None:
        return ctypes.addressof(UNKNOWN)
    return 0 if st.error_buf is None else ctypes.addressof(st.error_buf)


def _compute_mask(m: int | None, dest: int | None, size: int) -> int:
    st = MATCHERS.get(m or 0)
    if st is None:
        return -1
    matcher = st.matcher
    if matcher is None or st.error is not None:
        return -1
    if size != st.mbl or not dest:
        return st.fail(f"compute_mask: mask_byte_len {size} (expected {st.mbl}) or NULL buffer")
    try:
        if dest != st.dest:
            st.view = FACTORIES.live[st.factory].payload.view(dest)
            st.dest = dest
        matcher.fill_next_token_bitmask(st.view, 0)
    except Exception as exc:
        return st.fail(f"compute_mask: {describe(exc)}")
    return 0


def _tokens(ptr: int | None, n: int) -> list[int]:
    if n and not ptr:
        raise CbisonError("the token array is NULL")
    return list((ctypes.c_uint32 * n).from_address(ptr or 0)) if n else []


def _consume_tokens(m: int | None, tokens: int | None, n: int) -> int:
    got = live(m)
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
        return st.fail(f"consume_tokens: {describe(exc)}")


def _is_accepting(m: int | None) -> bool:
    got = live(m)
    if got is None:
        return False
    try:
        return bool(got[1].is_accepting())
    except Exception as exc:  # never let an exception cross into C
        got[0].fail(f"is_accepting: {describe(exc)}")
        return False


def _is_stopped(m: int | None) -> bool:
    got = live(m)
    if got is None:
        return True  # an unknown matcher or one in its error state: a forced stop
    try:
        return bool(got[1].is_terminated())
    except Exception as exc:
        got[0].fail(f"is_stopped: {describe(exc)}")
        return True


def _validate_tokens(m: int | None, tokens: int | None, n: int) -> int:
    got = live(m)
    if got is None:
        return -1
    try:
        return int(got[1].validate_tokens(_tokens(tokens, n)))
    except Exception as exc:
        return got[0].fail(f"validate_tokens: {describe(exc)}")


def _compute_ff_tokens(m: int | None, out: int | None, out_len: int) -> int:
    got = live(m)
    if got is None:
        return -1
    try:
        ids = got[1].compute_ff_tokens()[:out_len]
        if ids and not out:
            raise CbisonError("the output array is NULL")
        write_u32s(out or 0, ids)
        return len(ids)
    except Exception as exc:
        return got[0].fail(f"compute_ff_tokens: {describe(exc)}")


def _free_matcher(m: int | None) -> None:
    with LOCK:
        st = MATCHERS.pop(m or 0, None)
        if st is not None:
            FACTORIES.decr(st.factory)


def _rollback(m: int | None, n: int) -> int:
    got = live(m)
    if got is None:
        return -1
    try:
        got[1].rollback(n)
        return 0
    except Exception as exc:
        return got[0].fail(f"rollback: {describe(exc)}")


def _reset(m: int | None) -> int:
    got = live(m)
    if got is None:
        return -1
    try:
        got[1].reset()
        return 0
    except Exception as exc:
        return got[0].fail(f"reset: {describe(exc)}")


def _clone_matcher(m: int | None) -> int:
    st = MATCHERS.get(m or 0)
    if st is None:
        return 0
    try:
        inner = st.matcher.clone() if st.matcher is not None else None
        return new_id(MatcherState(st.factory, inner, st.error))
    except Exception:
        return 0


#: The matcher functions of every exported factory (module-level: never freed while C may call).
MATCHER_CALLBACKS: dict[str, Any] = {
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
}
