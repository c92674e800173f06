"""A batch's shared hold-off on rate limits: when one item's request gets a 429 (or a 503) with
``Retry-After``, no worker of the batch starts a new request before that moment.

Each item still retries by itself through the call's
:class:`~instructor_py.run.transport.TransportRetryPolicy` (the runner sleeps the server's
``Retry-After`` before re-sending it); the gate adds what one call cannot know: the other items of
the batch hit the same limit, so they wait too instead of each collecting its own 429.

:class:`RateGate` is the decision (I/O-free, thread-safe); :class:`GatedProvider` wraps the batch's
provider and waits at its I/O edge (``time.sleep`` in ``infer``/``stream``, ``asyncio.sleep`` in
``ainfer``/``astream``), so every provider gets the gate without knowing of it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from instructor_py.common.errors import RateLimitError, ServerError
from instructor_py.common.modes import OutputMode
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceProvider,
    InferenceRequest,
    InferenceResponse,
)

__all__ = ["GatedProvider", "RateGate"]


class RateGate:
    """The moment before which no new request may start (``0`` = open). ``max_hold`` caps a
    server's ``Retry-After`` (as the transport policy's ``max_retry_after`` does)."""

    __slots__ = ("_clock", "_lock", "_until", "holds", "max_hold")

    def __init__(
        self, max_hold: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_hold = max_hold
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()
        #: How many times a Retry-After closed (or extended) the gate.
        self.holds = 0

    def note(self, error: BaseException) -> None:
        """Close the gate for the ``Retry-After`` of a rate-limit (or server) error, if it has
        one; an earlier reopening never shortens a later one."""
        if not isinstance(error, RateLimitError | ServerError) or error.retry_after is None:
            return
        seconds = max(0.0, min(float(error.retry_after), self.max_hold))
        until = self._clock() + seconds
        with self._lock:
            if until > self._until:
                self._until = until
                self.holds += 1

    def wait_time(self) -> float:
        """Seconds to wait before sending (0 when the gate is open)."""
        with self._lock:
            until = self._until
        return max(0.0, until - self._clock())

    def pause(self) -> None:
        """Block the calling thread until the gate is open (it may close again meanwhile)."""
        while (delay := self.wait_time()) > 0:
            time.sleep(delay)

    async def apause(self) -> None:
        """:meth:`pause` for a coroutine (the event loop keeps running)."""
        while (delay := self.wait_time()) > 0:
            await asyncio.sleep(delay)


class GatedProvider:
    """``inner`` behind a :class:`RateGate`: every request waits for the gate, and every failure
    is shown to it. Everything else (name, modes, ``enforces_schema``...) is ``inner``'s."""

    def __init__(self, inner: InferenceProvider, gate: RateGate) -> None:
        self._inner = inner
        self._gate = gate

    @property
    def inner(self) -> InferenceProvider:
        return self._inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def default_model(self) -> str | None:
        return self._inner.default_model

    @property
    def default_mode(self) -> OutputMode:
        return self._inner.default_mode

    @property
    def supported_modes(self) -> frozenset[OutputMode]:
        return self._inner.supported_modes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        self._gate.pause()
        try:
            return self._inner.infer(request)
        except Exception as error:
            self._gate.note(error)
            raise

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        await self._gate.apause()
        try:
            return await self._inner.ainfer(request)
        except Exception as error:
            self._gate.note(error)
            raise

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        self._gate.pause()
        try:
            yield from self._inner.stream(request)  # closing this closes the inner stream
        except Exception as error:
            self._gate.note(error)
            raise

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        await self._gate.apause()
        deltas = self._inner.astream(request)
        try:
            async for delta in deltas:
                yield delta
        except Exception as error:
            self._gate.note(error)
            raise
        finally:
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:
                await aclose()

    def __repr__(self) -> str:
        return f"GatedProvider({self._inner!r})"
