"""Transport retries: 408/409/429/5xx, timeouts and connection errors.

Separate from validation retries: an HTTP failure is never fed back to the model; the same request
is sent again after exponential backoff with jitter, honouring ``Retry-After``. Errors that retrying
cannot fix (401/403/404/400) propagate at once.

The policy is an I/O-free decision, :meth:`TransportRetryPolicy.next_delay`: "after this error on
this try, wait this long and send again (or give up)". The one run loop
(:mod:`instructor_py.run.runner`) asks it for ``get()``, ``aget()``, ``stream()`` and ``astream()``
alike and does the sleeping at its I/O edge. Any object with ``begin()`` (a fresh decision state
for one request's tries) and ``next_delay`` is a policy (:class:`TransportRetry`); a tenacity
``Retrying`` is adapted by :mod:`instructor_py.run.tenacity_retry`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from instructor_py.common.errors import RateLimitError, ServerError, TransportError


@runtime_checkable
class TransportRetry(Protocol):
    """A transport retry policy: ``begin()`` is called before a request's first try and returns
    the object whose ``next_delay(error, failed_try)`` decides that request's re-sends (a
    stateless policy returns itself)."""

    def begin(self) -> TransportRetry: ...

    def next_delay(self, error: BaseException, failed_try: int) -> float | None: ...


@dataclass(frozen=True, slots=True)
class TransportRetryPolicy:
    """``max_retries`` counts re-sends after the first try (so at most ``max_retries + 1`` sends).

    The delay before re-send *n* is ``min(max_delay, initial_delay * 2**(n-1))`` scaled by a random
    jitter in [0.5, 1.0], or the server's ``Retry-After`` when it gave one (capped at
    ``max_retry_after``).
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: bool = True
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("TransportRetryPolicy.max_retries must be >= 0")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("TransportRetryPolicy delays must be >= 0")

    def begin(self) -> TransportRetryPolicy:
        return self  # stateless

    @staticmethod
    def is_retryable(error: BaseException) -> bool:
        return isinstance(error, TransportError)

    def delay_for(self, error: BaseException, failed_try: int) -> float:
        if isinstance(error, RateLimitError | ServerError) and error.retry_after is not None:
            return max(0.0, min(float(error.retry_after), self.max_retry_after))
        base: float = min(self.max_delay, self.initial_delay * 2.0 ** (failed_try - 1))
        if self.jitter:
            base *= random.uniform(0.5, 1.0)
        return base

    def next_delay(self, error: BaseException, failed_try: int) -> float | None:
        """The delay before sending again after ``error`` ended try number ``failed_try``
        (1-based), or ``None`` when the error is not a transport failure or the re-sends are used
        up (the caller re-raises)."""
        if not self.is_retryable(error) or failed_try > self.max_retries:
            return None
        return self.delay_for(error, failed_try)
