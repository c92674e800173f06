"""The Gemini ``generateContent`` wire format (Gemini API and Vertex AI) as pure functions: the
request body for each mode, and responses / SSE chunks back to our records. No I/O here.

Reference: https://ai.google.dev/api/generate-content (``GenerateContentRequest`` /
``GenerateContentResponse``); Vertex AI takes the same body at its own URL. Field names are the
REST API's camelCase ones (``systemInstruction``, ``generationConfig``, ``responseMimeType``...).
Messages arrive in the OpenAI format (see :mod:`instructor_py.providers.base`) and are converted
by :mod:`instructor_py.providers.gemini_messages`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from instructor_py.common.errors import ConfigurationError, ContentFilteredError, ProviderError
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers._stream_mapper import StreamMapper
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceRequest,
    InferenceResponse,
    ToolCall,
)
from instructor_py.providers.gemini_messages import convert_messages
from instructor_py.providers.http_errors import ErrorContext, stream_error_event
from instructor_py.providers.openai_wire import api_name, model_of, tool_of
from instructor_py.providers.presets import ProviderPreset
from instructor_py.providers.sse import SSEEvent

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
"""Gemini finish reasons that end an answer normally, in the protocol's (OpenAI) vocabulary. A
``functionCall`` answer that stopped is reported as ``tool_calls``."""
MODEL_MISTAKES = {
    "MALFORMED_FUNCTION_CALL": "the model wrote a function call that is not valid",
    "UNEXPECTED_TOOL_CALL": "the model called a tool that was not offered",
    "TOO_MANY_TOOL_CALLS": "the model called tools too many times in a row",
}
"""Finish reasons that are the model's mistake: a failed attempt fed back by the retry policy."""
FILTERED = {
    "SAFETY": "its safety filters flagged the answer",
    "RECITATION": "the answer recited copyrighted or training data too closely (recitation check)",
    "PROHIBITED_CONTENT": "the answer contained prohibited content",
    "BLOCKLIST": "the answer contained a term of a blocklist",
    "SPII": "the answer contained sensitive personally identifiable information",
    "IMAGE_SAFETY": "a generated image was flagged by the safety filters",
    "IMAGE_PROHIBITED_CONTENT": "a generated image contained prohibited content",
    "LANGUAGE": "the answer is in a language the model does not support",
    "OTHER": "of an unspecified reason",
}
"""Finish / block reasons that stop an answer for a policy reason: :class:`ContentFilteredError`."""

_GENERATION_OPTIONS = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxOutputTokens",
    "max_completion_tokens": "maxOutputTokens",
    "max_output_tokens": "maxOutputTokens",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "response_logprobs": "responseLogprobs",
    "logprobs": "logprobs",
    "media_resolution": "mediaResolution",
}
_TOP_LEVEL_OPTIONS = {
    "safety_settings": "safetySettings",
    "cached_content": "cachedContent",
    "labels": "labels",
}
_THINKING_OPTIONS = {
    "thinking_budget": "thinkingBudget",
    "include_thoughts": "includeThoughts",
    "thinking_level": "thinkingLevel",
}
_DROPPED_OPTIONS = frozenset({"strict", "parallel_tool_calls", "n", "schema_style"})
SCHEMA_STYLES = ("json_schema", "openapi")
"""``with_options(schema_style=...)``: ``"json_schema"`` (default) sends the schema as JSON
Schema in ``responseJsonSchema`` / ``parametersJsonSchema``; ``"openapi"`` sends the OpenAPI 3.0
subset in ``responseSchema`` / ``parameters`` (models without JSON Schema support). The driver's
schema preflight (targets ``gemini/responseJsonSchema`` / ``gemini``) rewrites or refuses the
schema for the chosen field before any request."""


def schema_style(request: InferenceRequest) -> str:
    style = request.options.get("schema_style", "json_schema")
    if style not in SCHEMA_STYLES:
        raise ConfigurationError(
            f"with_options(schema_style={style!r}) is not one of {', '.join(SCHEMA_STYLES)}: "
            "'json_schema' sends responseJsonSchema, 'openapi' the OpenAPI subset in "
            "responseSchema."
        )
    return str(style)


def preflight_target(request: InferenceRequest) -> str | None:
    """The schema preflight target of the request (``None``: no schema on the wire)."""
    if request.mode not in (OutputMode.TOOLS, OutputMode.JSON_SCHEMA):
        return None
    return "gemini" if schema_style(request) == "openapi" else "gemini/responseJsonSchema"


def model_path(model: str) -> str:
    """``"gemini-2.5-flash"`` -> ``"models/gemini-2.5-flash"`` (a name that already has a
    collection, ``models/...`` or ``tunedModels/...``, is kept)."""
    return model if "/" in model else f"models/{model}"


def build_body(request: InferenceRequest, preset: ProviderPreset) -> dict[str, Any]:
    """The JSON body of ``models/{model}:generateContent`` (streamed or not: the body is the same,
    only the URL differs), for a request that went through the driver's media check and schema
    preflight (the schema is put on the wire as it is)."""
    model_of(request, preset)
    system, contents = convert_messages(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    generation: dict[str, Any] = {}
    style = schema_style(request)
    mode = request.mode
    if mode is OutputMode.TOOLS:
        tool = tool_of(request)
        name = api_name(tool.name)
        declaration: dict[str, Any] = {"name": name, "description": tool.description}
        if style == "openapi":
            declaration["parameters"] = dict(tool.parameters)
        else:
            declaration["parametersJsonSchema"] = dict(tool.parameters)
        body["tools"] = [{"functionDeclarations": [declaration]}]
        body["toolConfig"] = {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}
        }
    elif mode is OutputMode.JSON_SCHEMA:
        generation["responseMimeType"] = "application/json"
        if style == "openapi":
            generation["responseSchema"] = dict(request.response_schema)
        else:
            generation["responseJsonSchema"] = dict(request.response_schema)
    elif mode is OutputMode.JSON:
        generation["responseMimeType"] = "application/json"
    thinking: dict[str, Any] = {}
    if request.thinking:
        thinking["thinkingBudget"] = request.thinking
    for key, value in request.options.items():
        if key in _DROPPED_OPTIONS:
            continue
        if key in _GENERATION_OPTIONS:
            generation[_GENERATION_OPTIONS[key]] = value
        elif key == "stop":
            generation["stopSequences"] = [value] if isinstance(value, str) else list(value)
        elif key in _THINKING_OPTIONS:
            thinking[_THINKING_OPTIONS[key]] = value
        elif key in _TOP_LEVEL_OPTIONS:
            body[_TOP_LEVEL_OPTIONS[key]] = value
        elif key == "extra_body" and isinstance(value, Mapping):
            body.update(value)
        else:
            generation[key] = value  # another GenerationConfig field, as the API spells it
    if thinking:
        generation["thinkingConfig"] = thinking
    if generation:
        body["generationConfig"] = generation
    return body


def parse_usage(raw: Any) -> Usage:
    """``usageMetadata`` -> :class:`Usage`. ``candidatesTokenCount`` excludes the thoughts, which
    are billed as output: ``output_tokens`` is their sum and ``reasoning_tokens`` the thoughts."""
    if not isinstance(raw, Mapping):
        return Usage()
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    return Usage(
        input_tokens=int(raw.get("promptTokenCount") or 0),
        output_tokens=int(raw.get("candidatesTokenCount") or 0) + thoughts,
        cache_read_tokens=int(raw.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def _filtered(reason: str, ctx: ErrorContext, *, prompt: bool, detail: str = "") -> ContentFilteredError:
    what = FILTERED.get(reason, f"of {reason}")
    if prompt:
        text = (
            f"{ctx.provider} blocked the prompt (blockReason={reason}): {what}. Nothing was "
            "generated; rephrase the prompt or relax safetySettings with "
            "with_options(safety_settings=[...])."
        )
    else:
        text = (
            f"{ctx.provider} stopped the answer (finishReason={reason}) because {what}. "
            "Rephrase the prompt"
            + (
                " or relax safetySettings with with_options(safety_settings=[...])."
                if reason in ("SAFETY", "IMAGE_SAFETY")
                else "; the provider does not let this answer through."
            )
        )
    if detail:
        text += f" ({detail})"
    return ContentFilteredError(text, provider=ctx.provider, reason=reason, blocked_prompt=prompt)


def _ratings(candidate: Mapping[str, Any]) -> str:
    flagged = [
        f"{r.get('category')}={r.get('probability')}"
        for r in candidate.get("safetyRatings") or ()
        if isinstance(r, Mapping) and (r.get("blocked") or r.get("probability") in ("MEDIUM", "HIGH"))
    ]
    return "flagged: " + ", ".join(flagged) if flagged else ""


def check_prompt_feedback(body: Mapping[str, Any], ctx: ErrorContext) -> None:
    feedback = body.get("promptFeedback")
    if isinstance(feedback, Mapping) and feedback.get("blockReason"):
        raise _filtered(str(feedback["blockReason"]), ctx, prompt=True, detail=_ratings(feedback))


def finish_of(candidate: Mapping[str, Any], has_call: bool, ctx: ErrorContext) -> str | None:
    """The protocol's finish reason for a candidate, or :class:`ContentFilteredError` when the
    provider stopped it for a policy reason."""
    reason = candidate.get("finishReason")
    if reason is None or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    reason = str(reason)
    if reason in FINISH_REASONS:
        mapped = FINISH_REASONS[reason]
        return "tool_calls" if has_call and mapped == "stop" else mapped
    if reason in MODEL_MISTAKES:
        return reason.lower()
    raise _filtered(reason, ctx, prompt=False, detail=_ratings(candidate))


def _parts(candidate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return [p for p in parts or () if isinstance(p, Mapping)]


def _call_of(part: Mapping[str, Any], index: int) -> ToolCall | None:
    call = part.get("functionCall")
    if not isinstance(call, Mapping):
        return None
    return ToolCall(
        id=str(call.get("id") or f"call_{index}"),
        name=str(call.get("name") or ""),
        arguments=json.dumps(call.get("args") or {}, ensure_ascii=False),
    )


def _first_candidate(body: Mapping[str, Any], ctx: ErrorContext) -> Mapping[str, Any] | None:
    check_prompt_feedback(body, ctx)
    candidates = body.get("candidates") or []
    first = candidates[0] if candidates else None
    return first if isinstance(first, Mapping) else None


def parse_response(body: Any, ctx: ErrorContext) -> InferenceResponse:
    """A ``GenerateContentResponse`` -> :class:`InferenceResponse` (thought parts are not part
    of the answer)."""
    if not isinstance(body, Mapping):
        raise ProviderError(
            f"{ctx.provider} returned a body that is not a JSON object; check the base URL "
            f"({ctx.base_url}).",
            provider=ctx.provider,
        )
    if "error" in body:
        raise stream_error_event(body, ctx)
    candidate = _first_candidate(body, ctx)
    if candidate is None:
        raise ProviderError(
            f"{ctx.provider} returned no candidates (and no block reason); send the request "
            "again or check the model name.",
            provider=ctx.provider,
        )
    texts: list[str] = []
    calls: list[ToolCall] = []
    for part in _parts(candidate):
        call = _call_of(part, len(calls))
        if call is not None:
            calls.append(call)
        elif "text" in part and not part.get("thought"):
            texts.append(str(part["text"]))
    return InferenceResponse(
        content="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=finish_of(candidate, bool(calls), ctx),
        usage=parse_usage(body.get("usageMetadata")),
        raw=body,
    )


def response_of_stream(response: InferenceResponse, first: Any, last: Any) -> dict[str, Any]:
    """The ``GenerateContentResponse`` a whole answer would have had, from a streamed one: what
    ``get()`` reports as ``raw_response`` when it streamed."""
    parts: list[dict[str, Any]] = []
    if response.content:
        parts.append({"text": response.content})
    for call in response.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": json.loads(call.arguments or "{}")}})
    end = last if isinstance(last, Mapping) else {}
    candidates = end.get("candidates") or [{}]
    reason = candidates[0].get("finishReason") if isinstance(candidates[0], Mapping) else None
    body: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": reason, "index": 0}]
    }
    for key in ("usageMetadata", "modelVersion", "responseId"):
        if key in end:
            body[key] = end[key]
    return body


_RETRY_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_delay(body: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail of an error body (``"retryDelay": "17s"``),
    which Google APIs send with 429 ``RESOURCE_EXHAUSTED`` instead of a Retry-After header."""
    error = body.get("error") if isinstance(body, Mapping) else None
    for detail in (error.get("details") or ()) if isinstance(error, Mapping) else ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _RETRY_DELAY.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


class ChunkMapper(StreamMapper):
    """Stateful mapping of a ``streamGenerateContent?alt=sse`` byte stream (each event a whole
    ``GenerateContentResponse`` chunk) to :class:`InferenceDelta`. A function call arrives whole
    in one chunk; only the first is streamed (TOOLS mode forces one)."""

    __slots__ = ("_calls",)

    finish_field = "finishReason"

    def __init__(self, ctx: ErrorContext) -> None:
        super().__init__(ctx)
        self._calls = 0

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
        if not isinstance(obj, Mapping):
            return
        if "error" in obj:
            raise stream_error_event(obj, self._ctx)
        candidate = _first_candidate(obj, self._ctx)
        usage = parse_usage(obj["usageMetadata"]) if obj.get("usageMetadata") else None
        if candidate is None:
            if usage is not None:
                out.append(InferenceDelta(usage=usage, raw=obj))
            return
        content: list[str] = []
        call: ToolCall | None = None
        for part in _parts(candidate):
            found = _call_of(part, self._calls)
            if found is not None:
                self._calls += 1
                call = call or (found if self._calls == 1 else None)
            elif "text" in part and not part.get("thought"):
                content.append(str(part["text"]))
        finish = finish_of(candidate, self._calls > 0, self._ctx)
        if finish:
            self.finished = True
        out.append(
            InferenceDelta(
                content="".join(content),
                tool_arguments=call.arguments if call else "",
                tool_name=call.name if call else None,
                tool_call_id=call.id if call else None,
                finish_reason=finish,
                usage=usage,
                raw=obj,
            )
        )
