"""Events: frozen records of every step, delivered to ``on_event``/``wiretap`` handlers and logged
under the ``instructor_py`` logger. Events never carry secrets (no API keys, no headers)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from instructor_py.common.usage import Usage


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    request_id: str
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True, kw_only=True)
class StructuredOutputStarted(Event):
    response_model: str
    provider: str
    model: str | None
    mode: str
    max_retries: int
    stream: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceRequested(Event):
    """A request is about to be sent (one per transport try)."""

    attempt: int
    provider: str
    model: str | None
    mode: str
    message_count: int
    stream: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceResponseReceived(Event):
    attempt: int
    usage: Usage
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractionFailed(Event):
    attempt: int
    stage: str
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationFailed(Event):
    attempt: int
    stage: str
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFailed(Event):
    attempt: int
    stage: str
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(Event):
    """``kind`` is ``"validation"`` (the errors go back to the model) or ``"transport"`` (the same
    request is sent again after ``delay`` seconds)."""

    attempt: int
    kind: str
    reason: str
    delay: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseGenerated(Event):
    attempts: int
    usage: Usage


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerRepaired(Event):
    """The tolerant parser read the answer of ``attempt`` only after repairing or coercing it:
    each repair as ``"$.path: kind (what was done)"`` (``response.repairs`` has the records)."""

    attempt: int
    repairs: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetriesExhausted(Event):
    attempts: int
    errors: tuple[str, ...]
    usage: Usage


# --- streaming ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkReceived(Event):
    attempt: int
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialGenerated(Event):
    attempt: int
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceItemCompleted(Event):
    attempt: int
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamVoided(Event):
    """The partials of ``attempt`` are void: a new attempt (``next_attempt``) starts streaming."""

    attempt: int
    next_attempt: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStopped(Event):
    """Streaming constraint checking stopped an answer as it arrived: from ``received_bytes`` on
    it could no longer satisfy the schema. ``errors`` are fed back to the model on the retry."""

    attempt: int
    received_bytes: int
    errors: tuple[str, ...]


# --- the response cache and budgets --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheHit(Event):
    """The answer came from the response cache: no request is sent. ``key`` is a prefix of the
    cache key; ``usage`` is what the original call spent (and this one saved)."""

    key: str
    cache: str
    usage: Usage


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheMiss(Event):
    """No usable cached answer (``reason``: ``"absent"``, ``"uncacheable: ..."``, ``"stale: ..."``
    when a cached answer no longer passes the call's validation); the call is sent."""

    key: str
    cache: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheStored(Event):
    """The validated answer was stored under ``key`` (``size``: bytes of the entry)."""

    key: str
    cache: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheUnavailable(Event):
    """The cache failed (``operation``: ``"read"`` or ``"write"``; a corrupt or locked file...):
    the call goes on without it (also logged as a warning)."""

    cache: str
    operation: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetExceeded(Event):
    """The next attempt (``attempt``) would pass ``token_budget``: ``spent`` tokens so far plus
    ``estimate`` for its prompt exceed ``budget``; the call stops with
    :class:`~instructor_py.common.errors.TokenBudgetExceededError`."""

    attempt: int
    budget: int
    spent: int
    estimate: int
