"""An async HTTP client bound to the event loop that created it.

httpx's async connection pool belongs to one event loop: reusing it from another loop (a second
``asyncio.run(...)``) fails with "Event loop is closed". Drivers keep one async client per running
loop and build a fresh one when the loop changes (the old loop is gone with its connections).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    __slots__ = ("_factory", "_loop", "_value")

    def __init__(self, factory: Callable[[], T], value: T | None = None) -> None:
        self._factory = factory
        self._value = value
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._value is None or (self._loop is not None and self._loop() is not loop):
            self._value = self._factory()
        if self._loop is None or self._loop() is not loop:
            self._loop = weakref.ref(loop)
        return self._value

    def current(self) -> T | None:
        """The value bound to the running loop, if any (no new value is built)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._value is not None and self._loop is not None and self._loop() is loop:
            return self._value
        return None

    def clear(self) -> None:
        self._value = None
        self._loop = None
