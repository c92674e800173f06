"""The OpenAI chat-completions wire format as pure functions: request parameters from an
:class:`InferenceRequest`, and responses / stream chunks back to our records.

No I/O here: :mod:`instructor_py.providers.openai` sends what :func:`build_params` returns through
the official SDK (sync or async) and feeds the bytes it receives to these mappers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from instructor_py.common.errors import ConfigurationError, ProviderError
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
    ToolSpec,
)
from instructor_py.providers.http_errors import (
    ErrorContext,
    stream_error_event,
)
from instructor_py.providers.presets import JsonModeStyle, JsonSchemaStyle, ProviderPreset
from instructor_py.providers.schema_preflight import preflight_request
from instructor_py.providers.sse import SSEEvent
from instructor_py.schema.preflight import preflight

# Parameters the SDK's ``chat.completions.create`` takes by name; other options go to extra_body.
SDK_PARAMS = frozenset(
    {
        "frequency_penalty", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens",
        "metadata", "n", "parallel_tool_calls", "presence_penalty", "reasoning_effort", "seed",
        "service_tier", "stop", "store", "temperature", "top_logprobs", "top_p", "user",
        "extra_headers", "extra_query", "prediction", "modalities", "audio", "verbosity",
    }
)  # fmt: skip
_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]")


def api_name(name: str) -> str:
    """A function / schema name the API accepts (letters, digits, ``_`` and ``-``, <= 64)."""
    cleaned = _NAME_OK.sub("_", name)[:64]
    return cleaned or "response"


def is_strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts the schema exactly as it is (the ``"openai"`` rules of
    :mod:`instructor_py.schema.preflight_rules`). :func:`preflight_params` goes further: it
    rewrites what strict mode cannot take when the meaning is kept."""
    if not isinstance(schema, Mapping):
        return False
    return preflight(schema, "openai").outcome == "as_is"


def preflight_params(request: InferenceRequest, preset: ProviderPreset) -> InferenceRequest:
    """The request with its schema checked for this preset before any request: a llama.cpp
    server's JSON_SCHEMA mode gets the json-schema-to-grammar rules; a strict-capable preset
    gets OpenAI's strict rules in TOOLS and JSON_SCHEMA modes (the schema rewritten for strict
    mode when that keeps its meaning; strict turned off when it cannot, unless the caller asked
    for ``strict=True``: then the schema is refused, naming keyword, path and fix)."""
    if request.mode not in (OutputMode.TOOLS, OutputMode.JSON_SCHEMA):
        return request
    if preset.name == "llamacpp-server":
        if request.mode is OutputMode.JSON_SCHEMA:
            return preflight_request(request, "llama-cpp-server")[0]
        return request
    wanted = request.options.get("strict")
    native = preset.json_schema_style is not JsonSchemaStyle.JSON_OBJECT_SCHEMA
    if not preset.supports_strict or wanted is False or not (
        native or request.mode is OutputMode.TOOLS
    ):
        return request
    checked, report = preflight_request(request, "openai", refuse=bool(wanted))
    if report.outcome == "refused":
        return replace(request, options={**request.options, "strict": False})
    return replace(checked, options={**checked.options, "strict": True})


def _strict(request: InferenceRequest, preset: ProviderPreset) -> bool:
    wanted = request.options.get("strict")
    if wanted is not None:
        return bool(wanted)
    return preset.supports_strict and is_strict_compatible(request.response_schema)


def model_of(request: InferenceRequest, preset: ProviderPreset) -> str:
    """The request's model (resolved by ``build_plan``); a request without one cannot be sent."""
    if not request.model:
        raise ConfigurationError(
            f"No model given for the {preset.name!r} provider, and it has no default. Pass one "
            "with with_model('...') or using(..., model='...')."
        )
    return request.model


def tool_of(request: InferenceRequest) -> ToolSpec:
    """The request's tool (resolved by ``build_plan`` in TOOLS mode)."""
    if request.tool is None:
        raise ConfigurationError(
            "a TOOLS-mode request needs request.tool (a ToolSpec); build requests with "
            "StructuredOutput(...).plan() or set tool=ToolSpec(...)"
        )
    return request.tool


def media_part(media: Media) -> dict[str, Any]:
    """One media object as an OpenAI chat content part ("Images and vision": ``image_url`` with a
    URL or a data URL; "Audio": ``input_audio`` {data, format}; "File inputs": ``file``
    {filename, file_data}). Audio and PDFs need bytes: a URL one is downloaded first
    (:func:`~instructor_py.providers.media_support.prepare_media`)."""
    if media.kind == "image":
        return {"type": "image_url", "image_url": {"url": media.url or media.data_url()}}
    if media.kind == "audio":
        return {"type": "input_audio", "input_audio": {"data": media.base64(), "format": media.format}}
    return {
        "type": "file",
        "file": {"filename": media.filename or "document.pdf", "file_data": media.data_url()},
    }


def wire_message(message: Message) -> dict[str, Any]:
    """A message with its content list in wire parts (strings as ``text`` parts, media as
    :func:`media_part`, part dicts as they are)."""
    out = dict(message)
    content = out.get("content")
    if isinstance(content, list | tuple):
        out["content"] = [
            {"type": "text", "text": part} if isinstance(part, str)
            else media_part(part) if isinstance(part, Media)
            else dict(part)
            for part in content
        ]
    return out


def build_params(
    request: InferenceRequest, preset: ProviderPreset, *, stream: bool
) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` (a translation: the mode, model
    and tool were resolved by ``build_plan``)."""
    params: dict[str, Any] = {
        "model": model_of(request, preset),
        "messages": [wire_message(m) for m in request.messages],
    }
    mode = request.mode
    if mode is OutputMode.TOOLS:
        tool = tool_of(request)
        function: dict[str, Any] = {
            "name": api_name(tool.name),
            "description": tool.description,
            "parameters": dict(tool.parameters),
        }
        if _strict(request, preset):
            function["strict"] = True
        params["tools"] = [{"type": "function", "function": function}]
        params["tool_choice"] = {"type": "function", "function": {"name": function["name"]}}
    elif mode is OutputMode.JSON_SCHEMA:
        schema = dict(request.response_schema)
        if preset.json_schema_style is JsonSchemaStyle.JSON_OBJECT_SCHEMA:
            params["response_format"] = {"type": "json_object", "schema": schema}
        else:
            spec: dict[str, Any] = {"name": api_name(request.schema_name), "schema": schema}
            if _strict(request, preset):
                spec["strict"] = True
            params["response_format"] = {"type": "json_schema", "json_schema": spec}
    elif mode is OutputMode.JSON:
        if preset.json_mode_style is JsonModeStyle.JSON_OBJECT:
            params["response_format"] = {"type": "json_object"}
        elif preset.json_mode_style is JsonModeStyle.ANY_OBJECT_SCHEMA:
            any_object = {"name": "json_object", "schema": {"type": "object"}}
            params["response_format"] = {"type": "json_schema", "json_schema": any_object}
    extra: dict[str, Any] = {}
    for key, value in request.options.items():
        if key == "strict":
            continue
        if key in SDK_PARAMS:
            params[key] = value
        elif key == "extra_body" and isinstance(value, Mapping):
            extra.update(value)
        else:
            extra[key] = value
    if extra:
        params["extra_body"] = extra
    if stream:
        params["stream"] = True
        if preset.stream_usage:
            params["stream_options"] = {"include_usage": True}
    return params


def parse_usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()
    # https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage:
    # prompt_tokens_details.cached_tokens (part of prompt_tokens) and
    # completion_tokens_details.reasoning_tokens (part of completion_tokens)
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    completion = raw.get("completion_tokens_details")
    reasoning = completion.get("reasoning_tokens") if isinstance(completion, Mapping) else None
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cache_read_tokens=int(cached or 0),
        reasoning_tokens=int(reasoning or 0),
    )


def parse_completion(body: Any, ctx: ErrorContext) -> InferenceResponse:
    """Map a chat-completion JSON body to an :class:`InferenceResponse`."""
    if not isinstance(body, Mapping):
        raise ProviderError(
            f"{ctx.provider} returned a body that is not a JSON object; check the base URL "
            f"({ctx.base_url}) points at an OpenAI-compatible API.",
            provider=ctx.provider,
        )
    if "error" in body and not body.get("choices"):
        raise stream_error_event(body, ctx)
    choices = body.get("choices") or []
    if not choices:
        raise ProviderError(
            f"{ctx.provider} returned no choices; the server may have filtered the answer.",
            provider=ctx.provider,
        )
    choice = choices[0]
    message = choice.get("message") or {}
    calls: list[ToolCall] = []
    for i, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        calls.append(
            ToolCall(
                id=str(call.get("id") or f"call_{i}"),
                name=str(function.get("name") or ""),
                arguments=_arguments_text(function.get("arguments")),
            )
        )
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, Mapping):
        calls.append(
            ToolCall(
                id="call_0",
                name=str(legacy.get("name") or ""),
                arguments=_arguments_text(legacy.get("arguments")),
            )
        )
    content = message.get("content")
    if content is None:
        content = message.get("refusal") or ""
    elif isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return InferenceResponse(
        content=str(content),
        tool_calls=tuple(calls),
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(body.get("usage")),
        raw=body,
    )


def completion_of_stream(response: InferenceResponse, first: Any, last: Any) -> dict[str, Any]:
    """The ``chat.completion`` body a whole answer would have had, from a streamed one (the
    accumulated ``response``, the first and the last chunk): what ``get()`` reports as
    ``raw_response`` when it streamed."""
    envelope = first if isinstance(first, Mapping) else {}
    message: dict[str, Any] = {"role": "assistant", "content": response.content or None}
    if response.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in response.tool_calls
        ]
    body: dict[str, Any] = {
        key: envelope[key] for key in ("id", "created", "model", "system_fingerprint") if key in envelope
    }
    body["object"] = "chat.completion"
    body["choices"] = [{"index": 0, "message": message, "finish_reason": response.finish_reason}]
    usage = last.get("usage") if isinstance(last, Mapping) else None
    if usage:
        body["usage"] = usage
    return body


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments)


class ChunkMapper(StreamMapper):
    """Stateful mapping of a chat-completion SSE byte stream to :class:`InferenceDelta`.

    Feed bytes as they arrive; :meth:`close` flushes and raises
    :class:`~instructor_py.common.errors.StreamInterruptedError` when the stream ended before a
    ``finish_reason`` arrived. Only the first tool call (index 0) is streamed: TOOLS mode forces one.
    """

    __slots__ = ("_tool_opened", "done")

    def __init__(self, ctx: ErrorContext) -> None:
        super().__init__(ctx)
        self.done = False
        self._tool_opened = False

    def _event(self, event: SSEEvent, out: list[InferenceDelta]) -> None:
        data = event.data
        if data == "[DONE]":
            self.done = True
            return
        if not data:
            return
        try:
            obj = json.loads(data)
        except json.JSONDecodeError as err:
            raise ProviderError(
                f"{self._ctx.provider} sent a stream event that is not JSON ({err.msg} at "
                f"{err.pos}); check the base URL points at an OpenAI-compatible API.",
                provider=self._ctx.provider,
            ) from None
        if not isinstance(obj, Mapping):
            return
        if event.event == "error" or "error" in obj:
            raise stream_error_event(obj, self._ctx)
        for choice in obj.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content") or ""
            args = ""
            name: str | None = None
            call_id: str | None = None
            for call in delta.get("tool_calls") or ():
                if call.get("index", 0) != 0:
                    continue
                function = call.get("function") or {}
                args += _arguments_text(function.get("arguments"))
                if not self._tool_opened and (function.get("name") or call.get("id")):
                    # name and id are reported once, on the delta that opens the call (some
                    # servers repeat them on every chunk)
                    self._tool_opened = True
                    name = function.get("name") or None
                    call_id = call.get("id") or None
            finish = choice.get("finish_reason")
            if finish:
                self.finished = True
            usage = parse_usage(obj["usage"]) if obj.get("usage") else None
            if content or args or name or call_id or finish or usage:
                out.append(
                    InferenceDelta(
                        content=content,
                        tool_arguments=args,
                        tool_name=name,
                        tool_call_id=call_id,
                        finish_reason=finish,
                        usage=usage,
                        raw=obj,
                    )
                )
        if not obj.get("choices") and obj.get("usage"):
            out.append(InferenceDelta(usage=parse_usage(obj["usage"]), raw=obj))
