"""Run a compilation with a time limit.

The work runs in a daemon thread (native compilers release the GIL); if it does not finish in
time the caller gets :class:`ConstraintTimeoutError` at once and the thread is abandoned (its
result is dropped; the backends' own resource limits bound how long it can keep running).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from instructor_py.errors import ConstraintTimeoutError

T = TypeVar("T")


def run_with_timeout(fn: Callable[[], T], timeout_s: float | None, what: str) -> T:
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

    thread = threading.Thread(target=work, name="instructor-py-compile", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise ConstraintTimeoutError(
            f"compiling {what} took longer than {timeout_s:g} s; simplify the constraint or raise "
            "compile_timeout_s."
        )
    if err:
        raise err[0]
    return box[0]
