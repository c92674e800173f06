"""The Anthropic Messages wire format as pure functions: OpenAI-format messages to Anthropic's,
the request body for each mode, and responses / SSE events back to our records. No I/O here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from instructor_py.common.errors import ConfigurationError, ProviderError, UnsupportedMediaError
from instructor_py.common.media import Media
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers._stream_mapper import StreamMapper
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
    Message,
    ToolCall,
)
from instructor_py.providers.http_errors import (
    ErrorContext,
    stream_error_event,
)
from instructor_py.providers.openai_wire import api_name, model_of, tool_of
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.sse import SSEEvent

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}
"""Anthropic stop reasons mapped to the OpenAI vocabulary used across the protocol."""
_RENAMED_OPTIONS = {"stop": "stop_sequences"}
_DROPPED_OPTIONS = frozenset({"seed", "strict", "parallel_tool_calls", "n"})


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in content
            if isinstance(p, str) or (isinstance(p, Mapping) and "text" in p)
        )
    return str(content)


def _image_block(part: Mapping[str, Any]) -> dict[str, Any]:
    spec = part.get("image_url")
    url = str(spec.get("url", "") if isinstance(spec, Mapping) else spec or "")
    if url.startswith("data:") and ";base64," in url:
        header, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": header, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def media_block(media: Media) -> dict[str, Any]:
    """One media object as an Anthropic content block ("Vision": ``image`` with a ``base64`` or
    ``url`` source; "PDF support": ``document`` with a ``base64`` or ``url`` source). Audio has no
    block in the Messages API: refused (before any request, by the driver's media check)."""
    if media.kind == "audio":
        raise UnsupportedMediaError(
            f"Anthropic's Messages API takes no audio ({media!r}): transcribe it first, or use "
            "'openai' (gpt-4o-audio-preview) or 'gemini' for audio"
        )
    block_type = "image" if media.kind == "image" else "document"
    if media.data is None:
        return {"type": block_type, "source": {"type": "url", "url": media.url}}
    source = {"type": "base64", "media_type": media.media_type, "data": media.base64()}
    return {"type": block_type, "source": source}


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            if part:
                blocks.append({"type": "text", "text": part})
            continue
        if isinstance(part, Media):
            blocks.append(media_block(part))
            continue
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            blocks.append({"type": "text", "text": str(part["text"])})
        elif kind == "image_url":
            blocks.append(_image_block(part))
        elif kind not in ("text", None):
            blocks.append(dict(part))
    return blocks


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return {"raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def convert_messages(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """OpenAI-format messages to Anthropic's ``(system, messages)``.

    System messages join the ``system`` prompt; assistant ``tool_calls`` become ``tool_use``
    blocks; ``tool`` messages become ``tool_result`` blocks of a user message; consecutive
    messages of the same role are merged (so a tool result and the feedback after it form one
    user turn, as the API requires)."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text(message.get("content"))
            if text:
                system.append(text)
            continue
        if role == "tool":
            role = "user"
            blocks: list[dict[str, Any]] = [
                {
                    "type": "tool_result",
                    "tool_use_id": str(message.get("tool_call_id", "")),
                    "content": _text(message.get("content")),
                }
            ]
        elif role == "assistant":
            blocks = _content_blocks(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": str(call.get("id", "")),
                        "name": str(function.get("name", "")),
                        "input": _tool_input(str(function.get("arguments") or "")),
                    }
                )
        elif role == "user":
            blocks = _content_blocks(message.get("content"))
        else:
            raise ConfigurationError(
                f"Message role {role!r} is not one of system, user, assistant, tool."
            )
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return ("\n\n".join(system) or None), out


def build_body(request: InferenceRequest, preset: ProviderPreset, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages`` (a translation: the mode, model and tool were
    resolved by ``build_plan``)."""
    system, messages = convert_messages(request.messages)
    body: dict[str, Any] = {
        "model": model_of(request, preset),
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = system
    if request.mode is OutputMode.TOOLS:
        tool = tool_of(request)
        name = api_name(tool.name)
        body["tools"] = [
            {"name": name, "description": tool.description, "input_schema": dict(tool.parameters)}
        ]
        body["tool_choice"] = {"type": "tool", "name": name}
    for key, value in request.options.items():
        if key in _DROPPED_OPTIONS:
            continue
        if key == "max_completion_tokens":
            key = "max_tokens"
        body[_RENAMED_OPTIONS.get(key, key)] = value
    if stream:
        body["stream"] = True
    return body


def parse_usage(raw: Any, start: Mapping[str, Any] | None = None) -> Usage:
    """A Messages ``usage`` object (https://docs.anthropic.com/en/api/messages#response-usage):
    ``input_tokens`` there counts only the uncached prompt tokens, so the prompt is
    ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` (what
    :class:`Usage.input_tokens` counts). ``start``: a stream's ``message_start`` usage, completed by
    the ``message_delta`` one (which may repeat or omit the prompt counts)."""
    fields: dict[str, Any] = dict(start or {})
    if isinstance(raw, Mapping):
        fields.update({k: v for k, v in raw.items() if v is not None})
    read = int(fields.get("cache_read_input_tokens") or 0)
    write = int(fields.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(fields.get("input_tokens") or 0) + read + write,
        output_tokens=int(fields.get("output_tokens") or 0),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _stop(reason: Any) -> str | None:
    return None if reason is None else STOP_REASONS.get(str(reason), str(reason))


def parse_message(body: Any, ctx: ErrorContext) -> InferenceResponse:
    if not isinstance(body, Mapping) or body.get("type") == "error":
        raise stream_error_event(body, ctx)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(
                ToolCall(
                    id=str(block.get("id", "")),
                    name=str(block.get("name", "")),
                    arguments=json.dumps(block.get("input", {}), ensure_ascii=False),
                )
            )
    return InferenceResponse(
        content="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=_stop(body.get("stop_reason")),
        usage=parse_usage(body.get("usage")),
        raw=body,
    )


def message_of_stream(response: InferenceResponse, first: Any, last: Any) -> dict[str, Any]:
    """The Messages API body a whole answer would have had, from a streamed one (the accumulated
    ``response``; ``first``: the ``message_start`` event, ``last``: the ``message_delta``): what
    ``get()`` reports as ``raw_response`` when it streamed."""
    start = first.get("message") if isinstance(first, Mapping) else None
    body: dict[str, Any] = dict(start) if isinstance(start, Mapping) else {"type": "message"}
    content: list[dict[str, Any]] = []
    if response.content:
        content.append({"type": "text", "text": response.content})
    for call in response.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call.arguments)}
        )
    body["content"] = content
    delta = last.get("delta") if isinstance(last, Mapping) else None
    if isinstance(delta, Mapping):
        body["stop_reason"] = delta.get("stop_reason")
        body["stop_sequence"] = delta.get("stop_sequence")
    usage = dict(body.get("usage") or {})
    final = last.get("usage") if isinstance(last, Mapping) else None
    usage.update(final if isinstance(final, Mapping) else {})
    body["usage"] = usage
    return body


class EventMapper(StreamMapper):
    """Stateful mapping of a Messages SSE byte stream to :class:`InferenceDelta`: text deltas
    and the first ``tool_use`` block's ``input_json_delta`` s. :meth:`close` raises
    :class:`StreamInterruptedError` if no ``stop_reason`` arrived."""

    __slots__ = ("_start_usage", "_tool_block")

    finish_field = "stop_reason"

    def __init__(self, ctx: ErrorContext) -> None:
        super().__init__(ctx)
        self._start_usage: dict[str, Any] = {}
        self._tool_block: int | None = None

    def _event(self, event: SSEEvent, out: list[InferenceDelta]) -> None:
        if not event.data:
            return
        try:
            obj = json.loads(event.data)
        except json.JSONDecodeError as err:
            raise ProviderError(
                f"{self._ctx.provider} sent a stream event that is not JSON ({err.msg}).",
                provider=self._ctx.provider,
            ) from None
        kind = obj.get("type", event.event) if isinstance(obj, Mapping) else event.event
        if kind == "error":
            raise stream_error_event(obj, self._ctx)
        if kind == "message_start":
            start = (obj.get("message") or {}).get("usage")
            self._start_usage = dict(start) if isinstance(start, Mapping) else {}
            out.append(InferenceDelta(raw=obj))  # the envelope (id, model) of the whole answer
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") == "tool_use" and self._tool_block is None:
                self._tool_block = obj.get("index")
                out.append(
                    InferenceDelta(
                        tool_name=str(block.get("name", "")),
                        tool_call_id=str(block.get("id", "")),
                        raw=obj,
                    )
                )
            elif block.get("type") == "text" and block.get("text"):
                out.append(InferenceDelta(content=str(block["text"]), raw=obj))
        elif kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta" and delta.get("text"):
                out.append(InferenceDelta(content=str(delta["text"]), raw=obj))
            elif dtype == "input_json_delta" and obj.get("index") == self._tool_block:
                part = str(delta.get("partial_json") or "")
                if part:
                    out.append(InferenceDelta(tool_arguments=part, raw=obj))
        elif kind == "message_delta":
            reason = _stop((obj.get("delta") or {}).get("stop_reason"))
            if reason:
                self.finished = True
            out.append(
                InferenceDelta(
                    finish_reason=reason,
                    usage=parse_usage(obj.get("usage"), self._start_usage),
                    raw=obj,
                )
            )
        elif kind == "message_stop":
            self.finished = True
