"""The one place where streamed :class:`InferenceDelta` s become a complete
:class:`InferenceResponse`: the streaming session uses it for every attempt, and a driver whose
non-streamed answer is its stream (the local provider) uses it for ``infer``.

Text accumulates in ``content``; tool-call argument text in the first tool call (a parallel call
with another id is dropped: TOOLS mode forces one call); ``finish_reason``, ``finish_detail``,
``usage`` and ``raw`` are those of the last delta that carried them.
"""

from __future__ import annotations

from typing import Any

from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceDelta, InferenceResponse, ToolCall

__all__ = ["DeltaAccumulator"]


class DeltaAccumulator:
    __slots__ = (
        "_arguments",
        "_content",
        "_detail",
        "_finish",
        "_first_raw",
        "_other_tool",
        "_raw",
        "_tool_id",
        "_tool_name",
        "_usage",
    )

    def __init__(self) -> None:
        self._content: list[str] = []
        self._arguments: list[str] = []
        self._tool_id: str | None = None
        self._tool_name: str | None = None
        self._other_tool = False
        self._finish: str | None = None
        self._detail: str | None = None
        self._usage: Usage | None = None
        self._raw: Any = None
        self._first_raw: Any = None

    @property
    def first_raw(self) -> Any:
        """The first raw record a delta carried (a stream's envelope: id, model...)."""
        return self._first_raw

    @property
    def in_tool_call(self) -> bool:
        """A tool call has begun."""
        return self._tool_id is not None or self._tool_name is not None or bool(self._arguments)

    def add(self, delta: InferenceDelta) -> str:
        """Take one delta; returns the argument text it added to the first tool call ("" if
        none)."""
        if self._first_raw is None:
            self._first_raw = delta.raw
        self._raw = delta.raw
        if delta.finish_reason:
            self._finish = delta.finish_reason
        if delta.finish_detail:
            self._detail = delta.finish_detail
        if delta.usage is not None:
            self._usage = delta.usage
        if delta.content:
            self._content.append(delta.content)
        if not (delta.tool_arguments or delta.tool_call_id or delta.tool_name):
            return ""
        if delta.tool_call_id and self._tool_id is None:
            self._tool_id = delta.tool_call_id
        elif delta.tool_call_id and delta.tool_call_id != self._tool_id:
            self._other_tool = True
        if delta.tool_name and self._tool_name is None:
            self._tool_name = delta.tool_name
        if self._other_tool:
            return ""
        self._arguments.append(delta.tool_arguments)
        return delta.tool_arguments

    def response(self, *, default_call_id: str = "") -> InferenceResponse:
        tool_calls: tuple[ToolCall, ...] = ()
        if self.in_tool_call:
            tool_calls = (
                ToolCall(
                    id=self._tool_id or default_call_id,
                    name=self._tool_name or "",
                    arguments="".join(self._arguments),
                ),
            )
        return InferenceResponse(
            content="".join(self._content),
            tool_calls=tool_calls,
            finish_reason=self._finish,
            usage=self._usage or Usage(),
            raw=self._raw,
            finish_detail=self._detail,
        )
