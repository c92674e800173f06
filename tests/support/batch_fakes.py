"""What the batch tests share: the ``Person`` model (adults only), :func:`run` (one test body
for ``batch()`` and ``abatch()``), and an in-process provider for the unit tests that answers
from the user message's text (so concurrent calls get their own answers, whatever order they run
in), sleeps as told, and counts the calls in flight and the most at once."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from instructor_py import StructuredOutput
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from tests.support.response_models import Adult

EDGES = ["sync", "async"]


class Person(Adult):
    """The shared adult-age model, under the name its tests expect on the wire."""


def run(builder: StructuredOutput[Any], inputs: Any, edge: str, **kwargs: Any) -> list[Any]:
    """``builder.batch(inputs, **kwargs)`` or the same through ``abatch()``."""
    if edge == "sync":
        return builder.batch(inputs, **kwargs)
    return asyncio.run(builder.abatch(inputs, **kwargs))


def user_text(request: InferenceRequest) -> str:
    return str(next(m for m in request.messages if m.get("role") == "user")["content"])


def person_answer(text: str) -> str:
    """``"Ann is 30"`` -> ``{"name": "Ann", "age": 30}``; ``"boom"`` -> not JSON."""
    found = re.match(r"(\w+) is (\d+)", text)
    if found is None:
        return "no JSON here"
    return json.dumps({"name": found.group(1), "age": int(found.group(2))})


@dataclass
class EchoProvider:
    delay: Callable[[str], float] = lambda text: 0.0
    fail: Callable[[str], BaseException | None] = lambda text: None
    name: str = "echo"
    default_model: str | None = "echo-model"
    default_mode: OutputMode = OutputMode.JSON
    supported_modes: frozenset[OutputMode] = frozenset({OutputMode.JSON, OutputMode.MD_JSON})
    calls: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    in_flight: int = 0
    most_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _enter(self, text: str) -> None:
        with self._lock:
            self.calls.append(text)
            self.started.setdefault(text, self.clock())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _leave(self, text: str) -> None:
        with self._lock:
            self.in_flight -= 1
            self.finished.append(text)

    def _answer(self, text: str) -> InferenceResponse:
        error = self.fail(text)
        if error is not None:
            raise error
        return InferenceResponse(content=person_answer(text), usage=Usage(3, 2))

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        text = user_text(request)
        self._enter(text)
        try:
            time.sleep(self.delay(text))
            return self._answer(text)
        finally:
            self._leave(text)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        text = user_text(request)
        self._enter(text)
        try:
            await asyncio.sleep(self.delay(text))
            return self._answer(text)
        finally:
            self._leave(text)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        yield InferenceDelta(content=self.infer(request).content)

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        yield InferenceDelta(content=(await self.ainfer(request)).content)
