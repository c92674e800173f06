"""Run a compilation with a time limit.

The work runs in a daemon thread (native compilers release the GIL); if it does not finish in
time the caller gets :class:`ConstraintTimeoutError` at once and the thread is abandoned (its
result is dropped). An abandoned thread keeps its *lane* (one per backend) busy until it ends:
:func:`lane_busy` lets the orchestrator skip that backend meanwhile, so timed-out compilations
never pile up and eat the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from instructor_py.common.errors import ConstraintTimeoutError

T = TypeVar("T")

_ABANDONED: dict[str, threading.Thread] = {}
_LOCK = threading.Lock()


def lane_busy(lane: str) -> bool:
    """Whether a timed-out compilation in ``lane`` is still running."""
    with _LOCK:
        thread = _ABANDONED.get(lane)
        if thread is not None and not thread.is_alive():
            del _ABANDONED[lane]
            return False
        return thread is not None


def run_with_timeout(
    fn: Callable[[], T], timeout_s: float | None, what: str, lane: str = "default"
) -> T:
    """``fn()`` or :class:`ConstraintTimeoutError` after ``timeout_s`` seconds (None: no limit)."""
    if timeout_s is None:
        return fn()
    box: list[T] = []
    err: list[BaseException] = []

    def work() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            err.append(exc)

    thread = threading.Thread(target=work, name=f"instructor-py-compile-{lane}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        with _LOCK:
            _ABANDONED[lane] = thread
        raise ConstraintTimeoutError(
            f"compiling {what} took longer than {timeout_s:g} s; simplify the constraint or raise "
            "compile_timeout_s."
        )
    if err:
        raise err[0]
    return box[0]
