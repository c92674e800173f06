"""The Amazon Bedrock Converse wire format as pure functions: the keyword arguments of boto3's
``converse`` / ``converse_stream`` from an :class:`InferenceRequest`, and the response / stream
events (as boto3 parses them) back to our records. No I/O here.

References: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html and
``API_runtime_ConverseStream.html``. Messages arrive in the OpenAI format and become Converse
``messages`` (``role`` user / assistant, ``content`` blocks ``text``, ``image``, ``document``,
``toolUse``, ``toolResult``) with the system prompt in ``system``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from instructor_py.common.errors import (
    ConfigurationError,
    ContentFilteredError,
    StreamInterruptedError,
    UnsupportedMediaError,
)
from instructor_py.common.media import Media
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
    Message,
    ToolCall,
)
from instructor_py.providers.http_errors import ErrorContext
from instructor_py.providers.openai_wire import api_name, model_of, tool_of
from instructor_py.providers.presets import ProviderPreset

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
}
"""Converse stop reasons in the protocol's (OpenAI) vocabulary; ``malformed_model_output`` and
``malformed_tool_use`` pass through as they are (a failed attempt the retry policy feeds back)."""
FILTERED = {
    "guardrail_intervened": "a Bedrock guardrail intervened",
    "content_filtered": "the model's content filter blocked the answer",
}
_WIRE_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
_INFERENCE_OPTIONS = {
    "max_tokens": "maxTokens",
    "max_completion_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
}
_TOP_LEVEL_OPTIONS = {
    "guardrail_config": "guardrailConfig",
    "performance_config": "performanceConfig",
    "prompt_variables": "promptVariables",
    "request_metadata": "requestMetadata",
    "additional_model_response_field_paths": "additionalModelResponseFieldPaths",
}
_DROPPED_OPTIONS = frozenset({"strict", "parallel_tool_calls", "n", "seed", "tool_choice"})


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and "text" in p
        )
    return str(content)


_NATIVE_BLOCKS = frozenset({"text", "image", "document", "video", "toolUse", "toolResult", "cachePoint", "guardContent"})


_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}


def media_block(media: Media) -> dict[str, Any]:
    """One media object as a Converse content block (``ImageBlock``: ``{"image": {"format":
    "png" | "jpeg" | "gif" | "webp", "source": {"bytes": ...}}}``; ``DocumentBlock``:
    ``{"document": {"format": "pdf", "name": ..., "source": {"bytes": ...}}}``). boto3 base64-encodes
    the bytes on the wire. Converse takes bytes (or an S3 location), so URL media was downloaded by
    the driver before; audio has no block and was refused before any request."""
    if media.data is None:
        raise UnsupportedMediaError(
            f"Bedrock Converse needs the bytes of {media!r} (the driver downloads URLs first)."
        )
    if media.kind == "image":
        image_format = _IMAGE_FORMATS.get(media.media_type)
        if image_format is None:
            raise UnsupportedMediaError(
                f"Bedrock Converse takes images as png, jpeg, gif or webp, not {media.media_type} "
                f"({media!r}); convert it first."
            )
        return {"image": {"format": image_format, "source": {"bytes": media.data}}}
    if media.kind == "pdf":
        # "name": alphanumerics, single spaces, hyphens, parentheses, square brackets; unique
        # per request: derived from the content hash
        return {"document": {"format": "pdf", "name": f"document-{media.sha256[:12]}", "source": {"bytes": media.data}}}
    raise UnsupportedMediaError(
        f"Bedrock Converse takes images and documents, not {media.kind} ({media!r}): transcribe "
        "it first, or use 'openai' or 'gemini' for audio."
    )


def _blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            if part:
                blocks.append({"text": part})
            continue
        if isinstance(part, Media):
            blocks.append(media_block(part))
            continue
        if not isinstance(part, Mapping):
            raise ConfigurationError(
                "A message part for Bedrock must be a str, an Image / PDF or a dict, got "
                f"{type(part).__name__}"
            )
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"text": str(part["text"])})
        elif kind is None and len(part) == 1 and next(iter(part)) in _NATIVE_BLOCKS:
            blocks.append(dict(part))  # a Converse-native content block
        else:
            raise ConfigurationError(
                f"Bedrock Converse cannot take a message part of type {kind!r} here; pass images "
                "and PDFs as instructor_py Image / PDF objects (sent as bytes), or a "
                "Converse-native block ({'image': {...}}, {'document': {...}})."
            )
    return blocks


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return {"raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def convert_messages(messages: Sequence[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI-format messages to Converse ``(system, messages)``; consecutive turns of the same
    role are merged (Converse wants them alternating, starting with the user)."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text(message.get("content"))
            if text:
                system.append({"text": text})
            continue
        if role == "tool":
            role = "user"
            blocks: list[dict[str, Any]] = [
                {
                    "toolResult": {
                        "toolUseId": str(message.get("tool_call_id", "")),
                        "content": [{"text": _text(message.get("content")) or "(empty)"}],
                    }
                }
            ]
        elif role == "assistant":
            blocks = _blocks(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                blocks.append(
                    {
                        "toolUse": {
                            "toolUseId": str(call.get("id", "")),
                            "name": str(function.get("name", "")),
                            "input": _tool_input(str(function.get("arguments") or "")),
                        }
                    }
                )
        elif role == "user":
            blocks = _blocks(message.get("content"))
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
    return system, out


def build_kwargs(request: InferenceRequest, preset: ProviderPreset) -> dict[str, Any]:
    """Keyword arguments of ``client.converse`` / ``client.converse_stream`` (the same for both).
    TOOLS: one tool in ``toolConfig`` and ``toolChoice: {tool: {name}}`` (forced);
    ``with_options(tool_choice="any")`` for models that cannot be forced to a named tool. JSON and
    MD_JSON: the schema is in the prompt (the core wrote it); nothing else to send. The request
    went through the driver's media preparation and schema preflight."""
    system, converted = convert_messages(request.messages)
    kwargs: dict[str, Any] = {"modelId": model_of(request, preset), "messages": converted}
    if system:
        kwargs["system"] = system
    if request.mode is OutputMode.TOOLS:
        tool = tool_of(request)
        name = api_name(tool.name)
        spec = {"name": name, "description": tool.description, "inputSchema": {"json": dict(tool.parameters)}}
        choice = request.options.get("tool_choice", "tool")
        if choice not in ("tool", "any", "auto"):
            raise ConfigurationError(
                f"with_options(tool_choice={choice!r}) for Bedrock is 'tool' (forced, the "
                "default), 'any' or 'auto'."
            )
        kwargs["toolConfig"] = {
            "tools": [{"toolSpec": spec}],
            "toolChoice": {"tool": {"name": name}} if choice == "tool" else {choice: {}},
        }
    elif request.mode not in (OutputMode.JSON, OutputMode.MD_JSON):
        raise ConfigurationError(
            f"Bedrock Converse has no {request.mode.value} mode; use TOOLS, JSON or MD_JSON."
        )
    inference: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in request.options.items():
        if key in _DROPPED_OPTIONS:
            continue
        if key in _INFERENCE_OPTIONS:
            inference[_INFERENCE_OPTIONS[key]] = value
        elif key == "stop":
            inference["stopSequences"] = [value] if isinstance(value, str) else list(value)
        elif key in _TOP_LEVEL_OPTIONS:
            kwargs[_TOP_LEVEL_OPTIONS[key]] = value
        elif key in ("extra_body", "additional_model_request_fields") and isinstance(value, Mapping):
            extra.update(value)
        else:
            extra[key] = value  # model-specific (top_k...): additionalModelRequestFields
    if inference:
        kwargs["inferenceConfig"] = inference
    if extra:
        kwargs["additionalModelRequestFields"] = extra
    return kwargs


def parse_usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()
    return Usage(
        input_tokens=int(raw.get("inputTokens") or 0),
        output_tokens=int(raw.get("outputTokens") or 0),
        cache_read_tokens=int(raw.get("cacheReadInputTokens") or 0),
        cache_write_tokens=int(raw.get("cacheWriteInputTokens") or 0),
    )


def finish_of(reason: Any, ctx: ErrorContext) -> str | None:
    if reason is None:
        return None
    word = str(reason)
    if word in FILTERED:
        raise ContentFilteredError(
            f"{ctx.provider} stopped the answer (stopReason={word}): {FILTERED[word]}. "
            "Rephrase the prompt, or review the guardrail / content filter settings.",
            provider=ctx.provider,
            reason=word,
        )
    return STOP_REASONS.get(word, word)


def parse_response(body: Mapping[str, Any], ctx: ErrorContext) -> InferenceResponse:
    """A ``converse`` response (as boto3 returns it) -> :class:`InferenceResponse`."""
    message = (body.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or ():
        if "text" in block:
            texts.append(str(block["text"]))
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(
                ToolCall(
                    id=str(use.get("toolUseId", "")),
                    name=str(use.get("name", "")),
                    arguments=json.dumps(use.get("input", {}), ensure_ascii=False),
                )
            )
    raw = {k: v for k, v in body.items() if k != "ResponseMetadata"}
    return InferenceResponse(
        content="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=finish_of(body.get("stopReason"), ctx),
        usage=parse_usage(body.get("usage")),
        raw=raw,
    )


def response_of_stream(response: InferenceResponse, first: Any, last: Any) -> dict[str, Any]:
    """The ``converse`` response a whole answer would have had, from a streamed one."""
    content: list[dict[str, Any]] = []
    if response.content:
        content.append({"text": response.content})
    for call in response.tool_calls:
        content.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": _tool_input(call.arguments)}})
    reason = response.finish_reason
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _WIRE_STOP.get(reason, reason) if reason is not None else None,
    }
    metadata = last.get("metadata") if isinstance(last, Mapping) else None
    if isinstance(metadata, Mapping):
        for key in ("usage", "metrics"):
            if key in metadata:
                body[key] = metadata[key]
    return body


class EventMapper:
    """Stateful mapping of ConverseStream events (dicts as boto3 yields them: ``messageStart``,
    ``contentBlockStart``, ``contentBlockDelta``, ``contentBlockStop``, ``messageStop``,
    ``metadata``) to :class:`InferenceDelta`. Tool input arrives as JSON text pieces
    (``delta.toolUse.input``); only the first tool block is streamed (TOOLS forces one)."""

    __slots__ = ("_ctx", "_tool_block", "finished")

    def __init__(self, ctx: ErrorContext) -> None:
        self._ctx = ctx
        self._tool_block: int | None = None
        self.finished = False

    def feed(self, event: Mapping[str, Any]) -> list[InferenceDelta]:
        if "messageStart" in event:
            return [InferenceDelta(raw=dict(event))]
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            use = (start.get("start") or {}).get("toolUse")
            if isinstance(use, Mapping) and self._tool_block is None:
                self._tool_block = int(start.get("contentBlockIndex", 0))
                return [
                    InferenceDelta(
                        tool_name=str(use.get("name", "")),
                        tool_call_id=str(use.get("toolUseId", "")),
                        raw=dict(event),
                    )
                ]
            return []
        if "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = block.get("delta") or {}
            if delta.get("text"):
                return [InferenceDelta(content=str(delta["text"]), raw=dict(event))]
            use = delta.get("toolUse")
            if isinstance(use, Mapping) and block.get("contentBlockIndex") == self._tool_block:
                piece = str(use.get("input") or "")
                return [InferenceDelta(tool_arguments=piece, raw=dict(event))] if piece else []
            return []
        if "messageStop" in event:
            reason = finish_of(event["messageStop"].get("stopReason"), self._ctx)
            self.finished = True
            return [InferenceDelta(finish_reason=reason, raw=dict(event))]
        if "metadata" in event:
            return [InferenceDelta(usage=parse_usage(event["metadata"].get("usage")), raw=dict(event))]
        return []

    def close(self) -> list[InferenceDelta]:
        if not self.finished:
            raise StreamInterruptedError(
                f"The stream from {self._ctx.provider} ended before the answer was complete (no "
                "messageStop). The request is sent again by the transport retries.",
                provider=self._ctx.provider,
            )
        return []
