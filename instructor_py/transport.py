"""Transport retries (tenacity): 408/409/429/5xx, timeouts and connection errors.

Separate from validation retries: an HTTP failure is never fed back to the model; the same request
is sent again after exponential backoff with jitter, honouring ``Retry-After``. Errors that retrying
cannot fix (401/403/404/400) propagate at once.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from instructor_py.errors import RateLimitError, ServerError, TransportError

T = TypeVar("T")

OnRetry = Callable[[BaseException, int, float], None]
"""Called before sleeping: (error, number of the try that failed (1-based), delay in seconds)."""


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

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if error is None:
            return 0.0
        return self.delay_for(error, state.attempt_number)

    def _before_sleep(self, on_retry: OnRetry | None) -> Callable[[RetryCallState], None]:
        def hook(state: RetryCallState) -> None:
            if on_retry is None or state.outcome is None:
                return
            error = state.outcome.exception()
            if error is not None:
                delay = state.next_action.sleep if state.next_action is not None else 0.0
                on_retry(error, state.attempt_number, float(delay))

        return hook

    def run(self, fn: Callable[[], T], on_retry: OnRetry | None = None) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self.is_retryable),
            before_sleep=self._before_sleep(on_retry),
            reraise=True,
        )
        return retrying(fn)

    async def arun(self, fn: Callable[[], Awaitable[T]], on_retry: OnRetry | None = None) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self.is_retryable),
            before_sleep=self._before_sleep(on_retry),
            reraise=True,
        )
        return await retrying(fn)
