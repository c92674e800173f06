"""Mapping of HTTP failures to the typed errors of :mod:`instructor_py.common.errors`, shared by drivers.

Messages are built from names (preset, environment variable, status) and the provider's own
explanation with every known secret scrubbed, so an API key never reaches an error message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from instructor_py.common.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

_KEYLIKE = re.compile(
    r"\b(?:sk-|gsk_|xai-|AIza)[A-Za-z0-9_\-*.]{6,}|Bearer\s+\S+|x-api-key:\s*\S+", re.IGNORECASE
)
"""Shapes of API keys (OpenAI/Anthropic/OpenRouter ``sk-``, Groq ``gsk_``, xAI ``xai-``, Google
``AIza``) and auth headers, scrubbed from provider messages even when the key is not ours."""


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What a driver knows when it maps an error. ``secrets`` are scrubbed from every message;
    it is excluded from the repr."""

    provider: str
    api_key_env: str | None
    base_url: str
    timeout: float | None = None
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"ErrorContext(provider={self.provider!r}, base_url={self.base_url!r})"

    def with_header_secrets(self, headers: Mapping[str, str] | None) -> ErrorContext:
        """Also scrub the values of the caller's extra headers (they may carry tokens); values
        shorter than 8 characters are too short to be secrets and would garble messages."""
        values = tuple(v for v in (headers or {}).values() if isinstance(v, str) and len(v) >= 8)
        return replace(self, secrets=(*self.secrets, *values)) if values else self


def redact(text: str, secrets: Sequence[str]) -> str:
    """Remove every secret (and anything shaped like an API key) from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def body_message(body: Any) -> str:
    """The provider's explanation from an error body (OpenAI or Anthropic shape, or text)."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("detail")
            kind = error.get("type") or error.get("code")
            if message:
                return f"{message} ({kind})" if kind else str(message)
        elif isinstance(error, str):
            return error
        detail = body.get("detail") or body.get("message")
        if detail:
            return str(detail)
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body.strip()[:500]
    return ""


_BAD_REQUEST = (
    BadRequestError,
    "{where} rejected the request{said}. Check the options, the model name and whether this "
    "model supports the output mode.",
)
_CLIENT_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    403: (
        PermissionDeniedError,
        "{where} denied permission{said}. Check that the key in {key} has access to this model "
        "and endpoint.",
    ),
    404: (
        NotFoundError,
        "{where} answered 'not found'{said}. Check the model name and the base URL ({base_url}).",
    ),
    400: _BAD_REQUEST,
    413: _BAD_REQUEST,
    422: _BAD_REQUEST,
}
"""The client errors that need only a message: status -> (error class, message template)."""


def error_for_status(
    status: int, headers: Mapping[str, str], body: Any, ctx: ErrorContext
) -> ProviderError:
    """The typed error for an HTTP error status."""
    detail = redact(body_message(body), ctx.secrets)
    said = f": {detail}" if detail else ""
    where = f"{ctx.provider} (HTTP {status})"
    if status == 401:
        if ctx.api_key_env:
            how = (
                f"Set the environment variable {ctx.api_key_env} to a valid key "
                f"(export {ctx.api_key_env}=...) or pass api_key=... to "
                f"using({ctx.provider!r}, api_key=...)."
            )
        else:
            how = f"Pass a valid key with using({ctx.provider!r}, api_key=...)."
        return AuthenticationError(
            f"{where} rejected the API key. {how}", provider=ctx.provider, status=status
        )
    if status == 429:
        retry_after = parse_retry_after(headers)
        wait = f" (Retry-After: {retry_after:g}s)" if retry_after is not None else ""
        return RateLimitError(
            f"{where} is rate limiting requests{wait}{said}. Transport retries wait and resend; "
            "if it persists, lower the request rate or raise your quota.",
            provider=ctx.provider,
            status=status,
            retry_after=retry_after,
        )
    if status in (408, 409) or status >= 500:
        return ServerError(
            f"{where} failed on the server side{said}. This is usually transient and is retried "
            "with backoff; if it persists, check the provider's status page.",
            provider=ctx.provider,
            status=status,
            retry_after=parse_retry_after(headers),
        )
    known = _CLIENT_ERRORS.get(status)
    if known is not None:
        kind, text = known
        message = text.format(
            where=where, said=said, key=ctx.api_key_env or "api_key", base_url=ctx.base_url
        )
        return kind(message, provider=ctx.provider, status=status)
    return ProviderError(f"{where} returned an error{said}.", provider=ctx.provider, status=status)


def timeout_error(ctx: ErrorContext) -> ProviderTimeoutError:
    after = f" after {ctx.timeout:g}s" if ctx.timeout is not None else ""
    return ProviderTimeoutError(
        f"The request to {ctx.provider} at {ctx.base_url} timed out{after}. It is retried; if it "
        "keeps timing out, raise the limit with using(..., timeout=seconds).",
        provider=ctx.provider,
    )


def connection_error(ctx: ErrorContext, cause: BaseException) -> ProviderConnectionError:
    reason = redact(str(cause) or type(cause).__name__, ctx.secrets)
    return ProviderConnectionError(
        f"Could not talk to {ctx.provider} at {ctx.base_url}: {reason}. Check that the server is "
        "running and the base URL is right.",
        provider=ctx.provider,
    )


def stream_error_event(payload: Any, ctx: ErrorContext) -> ProviderError:
    """An error reported inside a stream (an SSE ``error`` event or an ``error`` object)."""
    detail = redact(body_message(payload), ctx.secrets)
    kind = ""
    if isinstance(payload, Mapping):
        error = payload.get("error")
        if isinstance(error, Mapping):
            kind = str(error.get("type") or error.get("code") or "")
    message = f"{ctx.provider} reported an error while streaming: {detail or 'no detail'}."
    if kind in ("rate_limit_error", "rate_limit_exceeded"):
        return RateLimitError(message, provider=ctx.provider, retry_after=None)
    if kind in ("overloaded_error", "api_error", "server_error", "internal_error", ""):
        return ServerError(message + " Retried with backoff.", provider=ctx.provider)
    return ProviderError(message, provider=ctx.provider)


def not_a_stream_error(head: bytes, ctx: ErrorContext) -> ProviderError:
    """A streaming request answered with a body that held no SSE event at all: the provider's
    error when the body is a JSON error object, else an explanation of what came back."""
    try:
        body = json.loads(head)
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, Mapping) and "error" in body:
        return stream_error_event(body, ctx)
    return ProviderError(
        f"{ctx.provider} answered a streaming request without any server-sent event "
        f"({len(head)} bytes). Check that the base URL ({ctx.base_url}) is a streaming-capable "
        "API of this kind.",
        provider=ctx.provider,
    )


def json_body(content: bytes, ctx: ErrorContext) -> Any:
    """A successful response's JSON body, or an error saying the base URL looks wrong."""
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProviderError(
            f"{ctx.provider} returned a body that is not JSON; check that the base URL "
            f"({ctx.base_url}) points at an API of this kind.",
            provider=ctx.provider,
        ) from None
