"""An in-process scripted provider implementing the InferenceProvider protocol (unit tests only;
the real-server end-to-end tests live with the providers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
    ToolCall,
)

Script = InferenceResponse | BaseException


DEFAULT_USAGE = Usage(10, 5)


def text(content: str, usage: Usage = DEFAULT_USAGE) -> InferenceResponse:
    return InferenceResponse(content=content, finish_reason="stop", usage=usage, raw={"c": content})


def tool(
    arguments: str, name: str = "fn", call_id: str = "call_1", usage: Usage = DEFAULT_USAGE
) -> InferenceResponse:
    return InferenceResponse(
        tool_calls=(ToolCall(call_id, name, arguments),),
        finish_reason="tool_calls",
        usage=usage,
        raw={"args": arguments},
    )


@dataclass
class ScriptedProvider:
    """Answers each call with the next scripted response (or raises the scripted error) and
    records every request it was sent."""

    script: list[Script]
    name: str = "scripted"
    default_model: str | None = "scripted-model"
    default_mode: OutputMode = OutputMode.TOOLS
    supported_modes: frozenset[OutputMode] = frozenset(
        {OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON}
    )
    requests: list[InferenceRequest] = field(default_factory=list)

    def _next(self, request: InferenceRequest) -> InferenceResponse:
        self.requests.append(request)
        if not self.script:
            raise AssertionError("the scripted provider ran out of answers")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        return self._next(request)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        await asyncio.sleep(0)
        return self._next(request)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        response = self._next(request)
        yield InferenceDelta(content=response.content, usage=response.usage)

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        response = self._next(request)
        yield InferenceDelta(content=response.content, usage=response.usage)
