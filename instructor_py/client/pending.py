"""A lazy structured-output call: nothing is sent before ``get``/``response`` (or their async
twins); the result is cached, so asking twice does not send twice.

One lock guards the send for both: a sync ``response()`` and an async ``aresponse()`` racing on
one pending call send once (the async side waits for the lock without blocking its event loop)."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import TypeVar

from instructor_py.providers.base import InferenceRequest
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.runner import RunObserver, afinal_of, arun, final_of, run

if TYPE_CHECKING:
    from instructor_py.streaming.stream import AsyncStructuredOutputStream, StructuredOutputStream

T = TypeVar("T", default=Any)


class PendingStructuredOutput(Generic[T]):
    """Returned by ``StructuredOutput.create()``. ``request`` shows the first request that will be
    sent (no I/O). A successful result is cached; after an error, asking again makes a new call."""

    __slots__ = ("_lock", "_plan", "_response")

    def __init__(self, plan: ExecutionPlan) -> None:
        self._plan = plan
        self._response: StructuredOutputResponse[T] | None = None
        self._lock = threading.Lock()

    @property
    def plan(self) -> ExecutionPlan:
        return self._plan

    @property
    def request(self) -> InferenceRequest:
        return self._plan.request

    @property
    def request_id(self) -> str:
        return self._plan.request_id

    def response(self) -> StructuredOutputResponse[T]:
        """Send (once) and return the full :class:`StructuredOutputResponse`."""
        if self._response is None:
            with self._lock:
                if self._response is None:
                    final = final_of(run(self._plan, _observer(self._plan)))
                    self._response = cast(StructuredOutputResponse[T], final)
        return self._response

    def get(self) -> T:
        """Send (once) and return the validated value."""
        return self.response().value

    async def aresponse(self) -> StructuredOutputResponse[T]:
        if self._response is None:
            await _acquire(self._lock)
            try:
                if self._response is None:
                    final = await afinal_of(arun(self._plan, _observer(self._plan)))
                    self._response = cast(StructuredOutputResponse[T], final)
            finally:
                self._lock.release()
        return self._response

    async def aget(self) -> T:
        return (await self.aresponse()).value

    def stream(self, *, partial_strings: bool = True) -> StructuredOutputStream[T]:
        """A streamed call (nothing is sent before a view is iterated): ``partials()``,
        ``sequence()``, ``responses()``, ``final_value()``. ``partial_strings=False`` shows a
        string in partials only once it is complete."""
        from instructor_py.streaming.stream import StructuredOutputStream

        return StructuredOutputStream(self._plan, partial_strings=partial_strings)

    def astream(self, *, partial_strings: bool = True) -> AsyncStructuredOutputStream[T]:
        """The async twin of :meth:`stream` (``async for`` the views, ``await`` the finals)."""
        from instructor_py.streaming.stream import AsyncStructuredOutputStream

        return AsyncStructuredOutputStream(self._plan, partial_strings=partial_strings)

    def __repr__(self) -> str:
        state = "done" if self._response is not None else "not sent"
        return (
            f"PendingStructuredOutput(request_id={self._plan.request_id!r}, "
            f"provider={self._plan.provider.name!r}, "
            f"response_model={self._plan.response_model.name!r}, {state})"
        )


async def _acquire(lock: threading.Lock) -> None:
    """Take a thread lock from a coroutine without blocking the event loop (it is held only while
    another call on the same pending object sends)."""
    delay = 0.001
    while not lock.acquire(blocking=False):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


def _observer(plan: ExecutionPlan) -> RunObserver:
    """A plain run, or a streamed one that checks the answer as it arrives
    (:mod:`instructor_py.streaming.check`): by default when the provider streams its answers
    (``streams_answers``), always with ``check_stream=True``, never with ``False``."""
    wanted = plan.spec.check_stream
    if wanted or (wanted is None and getattr(plan.provider, "streams_answers", False)):
        from instructor_py.streaming.session import StreamSession

        session = StreamSession(plan, streamed=False)
        if session.checked:
            return session
    return RunObserver()
