"""A lazy structured-output call: nothing is sent before ``get``/``response`` (or their async
twins); the result is cached, so asking twice does not send twice."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from instructor_py.execution import aexecute, execute
from instructor_py.plan import ExecutionPlan
from instructor_py.providers.base import InferenceRequest
from instructor_py.response import StructuredOutputResponse

T = TypeVar("T", default=Any)


class PendingStructuredOutput(Generic[T]):
    """Returned by ``StructuredOutput.create()``. ``request`` shows the first request that will be
    sent (no I/O). A successful result is cached; after an error, asking again makes a new call."""

    __slots__ = ("_alock", "_lock", "_plan", "_response")

    def __init__(self, plan: ExecutionPlan) -> None:
        self._plan = plan
        self._response: StructuredOutputResponse[T] | None = None
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None

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
                    self._response = cast(StructuredOutputResponse[T], execute(self._plan))
        return self._response

    def get(self) -> T:
        """Send (once) and return the validated value."""
        return self.response().value

    async def aresponse(self) -> StructuredOutputResponse[T]:
        if self._response is None:
            if self._alock is None:
                self._alock = asyncio.Lock()
            async with self._alock:
                if self._response is None:
                    self._response = cast(
                        StructuredOutputResponse[T], await aexecute(self._plan)
                    )
        return self._response

    async def aget(self) -> T:
        return (await self.aresponse()).value

    def __repr__(self) -> str:
        state = "done" if self._response is not None else "not sent"
        return (
            f"PendingStructuredOutput(request_id={self._plan.request_id!r}, "
            f"provider={self._plan.provider.name!r}, "
            f"response_model={self._plan.context.response_model.name!r}, {state})"
        )
