"""The decode thread of a session: concurrent calls served one at a time, in arrival order, all on
one thread (never the caller's), in the caller's context; errors reach the caller; a consumer
that stops iterating cancels its call; a call made from a served call runs inline."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from instructor_py.runtime.decode_thread import DecodeThread

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("WHO", default="nobody")


def test_calls_are_served_in_arrival_order_on_one_thread() -> None:
    queue = DecodeThread("test-serve")
    order: list[int] = []
    threads_seen: set[int] = set()
    release = threading.Event()

    def call(i: int) -> Iterator[int]:
        if i == 0:
            release.wait(10)  # the first call holds the turn while the others queue up
        order.append(i)
        threads_seen.add(threading.get_ident())
        yield i

    results: dict[int, list[int]] = {}
    callers = []
    for i in range(6):
        t = threading.Thread(target=lambda i=i: results.__setitem__(i, list(queue.submit(lambda: call(i)))))
        t.start()
        callers.append(t)
        deadline = time.monotonic() + 5
        while queue.waiting < i and time.monotonic() < deadline:  # call i is queued
            time.sleep(0.002)
    release.set()
    for t in callers:
        t.join(10)
    assert order == [0, 1, 2, 3, 4, 5]
    assert results == {i: [i] for i in range(6)}
    assert len(threads_seen) == 1
    assert threads_seen.isdisjoint({t.ident for t in callers} | {threading.get_ident()})
    assert queue.served == 6


def test_a_call_runs_in_the_callers_context_and_its_error_reaches_the_caller() -> None:
    queue = DecodeThread("test-errors")

    def call() -> Iterator[str]:
        yield WHO.get()
        raise ValueError("the call failed")

    token = WHO.set("the caller")
    try:
        got: list[str] = []
        with pytest.raises(ValueError, match="the call failed"):
            for item in queue.submit(call):
                got.append(item)
        assert got == ["the caller"]
    finally:
        WHO.reset(token)
    assert list(queue.submit(lambda: iter([1, 2]))) == [1, 2]  # the thread serves on


def test_closing_the_consumer_cancels_its_call() -> None:
    queue = DecodeThread("test-cancel")
    produced: list[int] = []
    closed = threading.Event()

    def call() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                time.sleep(0.001)
                yield i
        finally:
            closed.set()

    items = queue.submit(call)
    assert next(items) == 0
    items.close()
    assert closed.wait(5)
    assert len(produced) < 1000
    assert list(queue.submit(lambda: iter(["next"]))) == ["next"]


def test_a_call_made_from_a_served_call_runs_inline() -> None:
    queue = DecodeThread("test-inline")

    def inner() -> Iterator[str]:
        yield "inner"

    def outer() -> Iterator[str]:
        yield "outer"
        yield from queue.submit(inner)  # would wait for itself if it queued

    done: list[list[str]] = []
    t = threading.Thread(target=lambda: done.append(list(queue.submit(outer))))
    t.start()
    t.join(10)
    assert done == [["outer", "inner"]]


def test_the_thread_exits_when_idle_and_starts_again() -> None:
    queue = DecodeThread("test-linger", linger=0.05)
    assert list(queue.submit(lambda: iter([1]))) == [1]
    deadline = time.monotonic() + 5
    while any(t.name == "test-linger" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "test-linger" for t in threading.enumerate())
    assert list(queue.submit(lambda: iter([2]))) == [2]
    assert queue.started == 2
