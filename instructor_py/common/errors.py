"""One error hierarchy for the whole SDK.

Every error says what was wrong and what to do about it. Secrets (API keys, Authorization
headers) never appear in messages: build messages from names, never from values.

Model mistakes (bad JSON, failed validation) are *not* exceptions while retries remain: the
pipeline returns typed failures that the retry policy feeds back. Only when retries run out does
:class:`StructuredOutputRetryError` carry every attempt to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from instructor_py.common.attempts import Attempt


class InstructorError(Exception):
    """Base class of every error raised by instructor_py."""


# --- configuration and arguments -----------------------------------------------------------


class ConfigurationError(InstructorError, ValueError):
    """A wrong argument, an unknown preset, an unsupported response model or mode."""


class UnsupportedResponseModelError(ConfigurationError, TypeError):
    """The response model is not one instructor_py can turn into a schema (raised at build time)."""


class UnsupportedModeError(ConfigurationError):
    """The provider cannot do the requested output mode; the message lists the modes it can do."""


class InvalidArgumentError(ConfigurationError, TypeError):
    """A builder argument of the wrong type (the message names the argument and what it takes).
    Also a ``TypeError``, so code that catches that keeps working."""


class InvalidSchemaError(ConfigurationError):
    """A JSON schema is not valid (the message says where)."""


# --- transport / provider --------------------------------------------------------------------


class ProviderError(InstructorError):
    """The inference provider failed (not a model mistake). ``status`` is the HTTP status if any."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class TransportError(ProviderError):
    """A failure worth retrying at the transport level (never fed back to the model)."""


class RateLimitError(TransportError):
    """HTTP 429. ``retry_after`` holds the server's Retry-After in seconds when it sent one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class ServerError(TransportError):
    """HTTP 5xx, 408 or 409: the server failed; retried with backoff."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class ProviderTimeoutError(TransportError):
    """The request timed out."""


class ProviderConnectionError(TransportError):
    """The connection failed or dropped (including a stream cut mid-way)."""


class StreamInterruptedError(ProviderConnectionError):
    """A streamed answer stopped before it was complete."""


class AuthenticationError(ProviderError):
    """HTTP 401: the API key is missing or wrong. The message names the environment variable."""


class PermissionDeniedError(ProviderError):
    """HTTP 403."""


class NotFoundError(ProviderError):
    """HTTP 404: usually a wrong model name or base URL."""


class BadRequestError(ProviderError):
    """HTTP 400/422: the provider rejected the request (the message carries its explanation)."""


class ContentFilteredError(ProviderError):
    """The provider stopped or blocked the answer (or the prompt) for a policy reason of its own:
    a safety filter, recitation of copyrighted text, prohibited content, sensitive personal data,
    a blocklist, a guardrail. ``reason`` is the provider's own word (Gemini's ``finishReason`` /
    ``blockReason`` such as ``SAFETY`` or ``RECITATION``, Bedrock's ``guardrail_intervened``...);
    ``blocked_prompt`` is True when the prompt itself was refused. Not retried: the same request
    is likely refused again; rephrase the prompt or change the provider's safety settings."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        reason: str,
        blocked_prompt: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.reason = reason
        self.blocked_prompt = blocked_prompt


# --- model mistakes, once retries are exhausted ------------------------------------------------


class StructuredOutputRetryError(InstructorError):
    """Every attempt failed validation. ``attempts`` carries each attempt (content, errors, usage)."""

    def __init__(self, message: str, *, attempts: Sequence[Attempt], usage: Any = None) -> None:
        super().__init__(message)
        self.attempts: tuple[Attempt, ...] = tuple(attempts)
        self.usage = usage

    @property
    def last_errors(self) -> tuple[str, ...]:
        return self.attempts[-1].errors if self.attempts else ()


class TokenBudgetExceededError(StructuredOutputRetryError):
    """The call's ``token_budget`` would be passed by the next attempt: the tokens spent so far
    (``usage.total_tokens``) plus ``estimate`` (the next attempt's prompt, estimated) exceed
    ``budget``. ``attempts`` carries every attempt made (none when even the first would not fit).
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: Sequence[Attempt],
        usage: Any = None,
        budget: int,
        spent: int,
        estimate: int,
    ) -> None:
        super().__init__(message, attempts=attempts, usage=usage)
        self.budget = budget
        self.spent = spent
        self.estimate = estimate


# --- the response cache ------------------------------------------------------------------------


class CacheError(InstructorError):
    """The response cache could not be read or written (a corrupt or locked file, a full disk).
    Never raised by a call: the call bypasses the cache, logs a warning and emits
    :class:`~instructor_py.run.events.CacheUnavailable`; raised by the cache objects themselves."""


# --- local engine ------------------------------------------------------------------------------


class LocalModelError(InstructorError):
    """The local model could not be loaded or run (missing file, context overflow...)."""


class ContextOverflowError(LocalModelError):
    """The prompt does not fit the model's context window."""


class ConstraintError(InstructorError):
    """A constraint (schema, regex, grammar, choice) could not be compiled or used."""


class ConstraintCompileError(ConstraintError, ValueError):
    """No backend could compile the constraint; the message says which backend said what."""


class ConstraintTimeoutError(ConstraintCompileError):
    """Compilation exceeded its time limit."""


class TemplateError(ConstraintCompileError):
    """A Guidance-style template is malformed; ``line`` and ``column`` (1-based) locate it."""

    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(f"template line {line}, column {column}: {message}")
        self.line = line
        self.column = column


class TokenOutOfRangeError(ConstraintError, ValueError):
    """A token id outside the tokenizer's vocabulary was given to a matcher."""


class CbisonError(ConstraintError):
    """A CBISON engine or interface failed: bad magic or version, an engine error (its
    ``get_error`` text), a freed matcher, a shared library without the expected symbol."""


class CbisonUnsupportedError(CbisonError):
    """The CBISON engine leaves this optional function NULL (not supported by this engine)."""


class StructuredOutputParseError(ConstraintError, ValueError):
    """``StructuringEngine.get_structured_output(raise_on_error=True)``: the generated text does
    not parse as the structure or does not validate as the requested type (the message says
    which, and where)."""


# --- streaming -------------------------------------------------------------------------------


class SequenceContradictionError(InstructorError):
    """``sequence()`` already yielded item ``index`` from an attempt that later failed, and the
    attempt that succeeded produced a different item there (or fewer items). The items you
    received up to ``index`` - 1 are confirmed; drop the ones from ``index`` on and use ``value``
    (the validated final value of the successful attempt) instead."""

    def __init__(self, message: str, *, index: int, value: Any = None) -> None:
        super().__init__(message)
        self.index = index
        self.value = value


class StreamClosedError(InstructorError):
    """A stream was closed (``close()`` / leaving its ``with`` block) before it finished; start a
    new one with ``stream()`` to get the result."""


class MissingAPIKeyError(AuthenticationError, ConfigurationError):
    """No API key for a preset that needs one (raised before any request is sent). The message
    names the environment variable to set."""


# --- hostile schemas (instructor_py/schema/safety.py) ---------------------------------------


class RemoteReferenceError(InvalidSchemaError):
    """A ``$ref`` points outside the schema (a URL or another file). Schemas never cause network
    or file access: inline the referenced schema under ``$defs`` and use ``"#/$defs/Name"``."""


class SchemaLimitError(InvalidSchemaError):
    """The schema is larger, deeper or has a longer ``enum`` than the limits allow (the message
    names the limit and where it was passed); see :class:`~instructor_py.schema.safety.SchemaLimits`."""


class PatternTimeoutError(InvalidSchemaError):
    """A ``pattern``/``patternProperties`` regex that the linear-time engine (RE2) cannot run
    (lookaround, backreference) took longer than its time limit to match a value."""


# --- provider batch jobs (instructor_py/client/batch_job.py) -------------------------------------


class BatchJobError(InstructorError):
    """A batch job cannot do what was asked: an unknown job id, results asked before the job
    ended, a remote batch that cannot be found or told apart, a store that cannot be read (the
    message says which, and what to do)."""


class BatchJobTimeoutError(BatchJobError, TimeoutError):
    """``job.wait(timeout=...)`` ran out before the job ended; the job goes on: wait again or
    ``BatchJob.resume(job_id)`` later. ``status`` is the last status seen."""

    def __init__(self, message: str, *, status: Any = None) -> None:
        super().__init__(message)
        self.status = status


class BatchItemError(ProviderError):
    """The provider's batch answered this item with an error (or did not answer it: the batch
    expired or was cancelled first). ``custom_id`` names the item, ``code`` is the provider's
    error code (``"batch_expired"``, ``"invalid_request_error"``...), ``raw`` the result line as
    the provider wrote it (``None`` when there was none)."""

    def __init__(
        self,
        message: str,
        *,
        custom_id: str,
        code: str | None = None,
        raw: Any = None,
        provider: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.custom_id = custom_id
        self.code = code
        self.raw = raw


# --- media inputs (instructor_py/common/media.py, providers/media_fetch.py) ------------------


class MediaError(ConfigurationError):
    """An image, PDF or audio input that cannot be used: empty, unreadable, of an unknown or wrong
    media type. Messages name the kind, media type, size and a hash prefix, never the bytes."""


class UnsupportedMediaError(MediaError):
    """The chosen provider or model cannot take this media (audio to Anthropic, any media to a
    text-only model); raised before any request is sent. The message names a provider that can."""


class MediaFetchError(MediaError):
    """A media URL whose bytes the provider needs could not be downloaded (timeout, HTTP error,
    larger than the size cap)."""


class MediaURLRefusedError(MediaFetchError):
    """A media URL points at a loopback, private, link-local or reserved address (SSRF guard).
    Allow it explicitly with ``with_media_policy(allow_private=True)`` if you trust the URL."""


# --- schema preflight (instructor_py/schema/preflight.py) -------------------------------------


class SchemaPreflightError(InvalidSchemaError):
    """The response schema uses something the chosen provider and mode refuse, and no rewrite on
    the wire can keep its meaning. Raised before any request; ``issues`` lists each refusal
    (keyword, JSON path, provider, fix)."""

    def __init__(self, message: str, *, issues: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.issues: tuple[Any, ...] = tuple(issues)
