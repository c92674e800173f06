"""One thread that serves a model's one-sequence calls, one at a time, in the order they came.

Concurrent local calls on a model with one sequence (the default, ``n_parallel=1``) cannot decode
together: they take turns. How they wait decides what the turns cost. Before this queue, every
calling thread rendered, compiled and then blocked on the model's lock, and whichever thread the
lock woke next ran its forward passes from its own OS thread. That cost, measured on the 2-core
machine (docs/benchmarks.md, "Local throughput"):

- llama.cpp's CPU backend runs each forward pass in an OpenMP team, and libgomp keeps one pool of
  team threads *per calling thread*: 16 calling threads meant 16 pools whose threads waited (and,
  under libgomp's default policy, spun) against each other, and each thread that called from the
  main thread or from a worker was treated differently by libgomp's spin throttling;
- a lock is not a queue: the order of the turns was arbitrary, so the prefix a call found in the
  KV cache (the previous call's prompt) differed from a loop's, and with it the prompt tokens
  evaluated (and, since a prompt evaluated in other pieces is other floating-point sums, now and
  then a greedy answer);
- the waiting threads' own work (rendering, compiling) ran while a forward pass needed both cores.

:class:`DecodeThread` serves the calls instead: :meth:`~DecodeThread.submit` queues a call (a
function returning an iterator: render, compile, generate, map) and yields the call's items as
the serving thread produces them. One call runs at a time, in arrival order (FIFO), all on the
same OS thread (one OpenMP pool, never the main thread), in the caller's ``contextvars`` context;
the caller's thread only waits. A call made from the serving thread itself (a call that decodes
again) runs inline. The thread exits after :data:`LINGER_SECONDS` without work and is started
again by the next call. A consumer that stops iterating cancels its call (before it starts, or
after the item being produced). Exceptions of the call are raised in the caller.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["LINGER_SECONDS", "DecodeThread"]

T = TypeVar("T")

LINGER_SECONDS = 2.0  # idle time before the serving thread exits (a loop's calls keep it alive)

_ITEM, _ERROR, _END = 0, 1, 2


class _Call(Generic[T]):
    __slots__ = ("cancelled", "context", "outbox", "work")

    def __init__(self, work: Callable[[], Iterator[T]]) -> None:
        self.work = work
        self.context = contextvars.copy_context()
        self.outbox: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self.cancelled = False

    def serve(self) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = self.work()
            for item in iterator:
                self.outbox.put((_ITEM, item))
                if self.cancelled:
                    break
        except BaseException as exc:  # the caller's to handle, not the serving thread's
            self.outbox.put((_ERROR, exc))
        else:
            self.outbox.put((_END, None))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                # an error here comes after the call's outcome was sent: nobody to tell
                with contextlib.suppress(Exception):
                    close()


class DecodeThread:
    """A FIFO of calls served by one thread (see the module docstring)."""

    def __init__(self, name: str, *, linger: float = LINGER_SECONDS) -> None:
        self.name = name
        self.linger = linger
        self._cond = threading.Condition()
        self._calls: deque[_Call[Any]] = deque()
        self._thread: threading.Thread | None = None
        self.served = 0  # calls served so far
        self.started = 0  # serving threads started so far

    @property
    def waiting(self) -> int:
        """Calls queued and not started yet."""
        with self._cond:
            return len(self._calls)

    def on_thread(self) -> bool:
        """Whether the current thread is the serving thread."""
        return threading.current_thread() is self._thread

    def submit(self, work: Callable[[], Iterator[T]]) -> Generator[T, None, None]:
        """Yield the items of ``work()``, run on the serving thread in its turn. Nothing is
        queued before the first item is asked for; closing the generator cancels the call."""
        if self.on_thread():  # a call made by the call being served: no turn to wait for
            yield from work()
            return
        call = _Call(work)
        with self._cond:
            self._calls.append(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.started += 1
                self._thread.start()
            self._cond.notify()
        done = False
        try:
            while True:
                kind, payload = call.outbox.get()
                if kind == _ITEM:
                    yield payload
                    continue
                done = True
                if kind == _ERROR:
                    raise payload
                return
        finally:
            if not done:
                call.cancelled = True  # skipped if not started; else stops after this item

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._calls:
                    if not self._cond.wait(self.linger) and not self._calls:
                        self._thread = None  # the next submit starts a new thread
                        return
                call = self._calls.popleft()
            if call.cancelled:
                continue
            call.context.run(call.serve)
            self.served += 1

    def __repr__(self) -> str:
        return f"DecodeThread({self.name!r}, waiting={self.waiting}, served={self.served})"
