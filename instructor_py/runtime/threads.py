"""The async edge of the local engine: run a blocking iterator in a worker thread.

The decode loop is synchronous (llama.cpp releases the GIL while it computes); async callers get
the same iterator, driven from a worker thread, with items handed over through an asyncio queue.
Cancelling the consumer closes the iterator in its thread (which releases the model lock).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_in_thread"]

T = TypeVar("T")

_DONE = object()


async def iterate_in_thread(factory: Callable[[], Iterator[T]]) -> AsyncGenerator[T, None]:
    """Yield the items of ``factory()`` (created and consumed in a worker thread)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=0)
    stop = threading.Event()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the consumer's loop is closed; nobody is listening any more
            stop.set()

    def pump() -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = factory()
            for item in iterator:
                put(("item", item))
                if stop.is_set():
                    break
        except BaseException as exc:
            put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            put(_DONE)

    thread = threading.Thread(target=pump, name="instructor_py-local-decode", daemon=True)
    thread.start()
    try:
        while True:
            message = await queue.get()
            if message is _DONE:
                return
            assert isinstance(message, tuple)
            kind: str = message[0]
            payload: Any = message[1]
            if kind == "error":
                raise payload
            yield payload
    finally:
        stop.set()
