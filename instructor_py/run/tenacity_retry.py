"""tenacity as the transport retry policy: ``with_transport_retry(tenacity.Retrying(...))``.

Users of Python ``instructor`` configure retries with tenacity. Here tenacity's *strategies*
decide and the run loop (:mod:`instructor_py.run.runner`) acts, so ``get()``, ``aget()``,
``stream()`` and ``astream()`` all honour them and tenacity never sleeps itself (the sync edge
sleeps with ``time.sleep``, the async one with ``asyncio.sleep``). After a failed try the adapter
fills a ``tenacity.RetryCallState`` (attempt number, the exception as its outcome, timestamps from
``clock``) and asks, in tenacity's order:

1. is it a transport failure (408/409/429/5xx, timeout, connection error)? Other errors (401,
   400, ...) are never re-sent, whatever ``retry`` says: sending them again cannot help;
2. ``retry(state)``: tenacity's retry predicate (``retry_if_exception_type(RateLimitError)``...);
3. ``stop(state)``: ``stop_after_attempt(n)`` allows ``n`` tries in all, ``stop_after_delay``
   counts from the first try;
4. ``wait(state)``: the delay; a server's ``Retry-After`` (capped at ``max_retry_after``) is a floor.

``before_sleep`` is called with the state before each wait (``before_sleep_log`` works);
``after``, ``retry_error_callback`` and ``reraise`` do not apply: when the strategies give up the
original error propagates (as with ``reraise=True``). A ``tenacity.AsyncRetrying`` is used the same
way; its strategies must be plain (synchronous) callables, which all of tenacity's built-in ones are.
tenacity is imported when this adapter is built (``pip install 'instructor_py[tenacity]'``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.errors import ConfigurationError, RateLimitError, ServerError
from instructor_py.run.transport import TransportRetryPolicy

__all__ = ["TenacityRetry", "is_tenacity_object"]

_is_transport = TransportRetryPolicy.is_retryable


def is_tenacity_object(value: Any) -> bool:
    """A tenacity ``Retrying`` / ``AsyncRetrying`` (checked without importing tenacity)."""
    return any(
        c.__module__.split(".")[0] == "tenacity" and c.__name__ == "BaseRetrying"
        for c in type(value).__mro__
    )


def _tenacity() -> Any:
    try:
        import tenacity
    except ImportError:  # pragma: no cover - tenacity is in the dev extra
        raise ConfigurationError(
            "with_transport_retry(stop=..., wait=..., retry=...) needs tenacity: "
            "pip install 'instructor_py[tenacity]'"
        ) from None
    return tenacity


def _sync(strategy: Any, name: str) -> Any:
    if strategy is None:
        return None
    call = getattr(strategy, "__call__", strategy)  # noqa: B004 - strategies are objects or functions
    if inspect.iscoroutinefunction(strategy) or inspect.iscoroutinefunction(call):
        raise ConfigurationError(
            f"the tenacity {name} strategy {strategy!r} is async; the run loop decides without "
            "awaiting: use tenacity's synchronous strategies (stop_*, wait_*, retry_if_*)"
        )
    if not callable(strategy):
        raise ConfigurationError(f"the tenacity {name} strategy must be callable, got {strategy!r}")
    return strategy


@dataclass(frozen=True, slots=True)
class TenacityRetry:
    """``TenacityRetry(tenacity.Retrying(stop=..., wait=...))`` or
    ``TenacityRetry(stop=..., wait=..., retry=...)`` (unset strategies: tenacity's defaults, but
    ``stop`` defaults to ``stop_after_attempt(4)``, the default policy's 3 re-sends, not
    tenacity's ``stop_never``). ``clock``: seconds, monotonic (for tests)."""

    retrying: Any = None
    stop: Any = None
    wait: Any = None
    retry: Any = None
    before_sleep: Any = None
    max_retry_after: float = 60.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        tenacity = _tenacity()
        source = self.retrying
        if source is not None and not isinstance(source, tenacity.BaseRetrying):
            raise ConfigurationError(
                f"with_transport_retry() takes a tenacity.Retrying/AsyncRetrying, got {source!r}"
            )

        def pick(name: str, default: Any) -> Any:
            mine = getattr(self, name)
            if mine is not None:
                return _sync(mine, name)
            if source is not None:
                return _sync(getattr(source, name), name)
            return default

        object.__setattr__(self, "stop", pick("stop", tenacity.stop_after_attempt(4)))
        object.__setattr__(
            self, "wait", pick("wait", tenacity.wait_exponential(multiplier=0.5, max=8))
        )
        object.__setattr__(self, "retry", pick("retry", tenacity.retry_if_exception_type()))
        object.__setattr__(self, "before_sleep", pick("before_sleep", None))
        if self.retrying is None:
            object.__setattr__(
                self,
                "retrying",
                tenacity.Retrying(stop=self.stop, wait=self.wait, retry=self.retry),
            )

    def begin(self) -> _TenacityCall:
        return _TenacityCall(self)

    def next_delay(self, error: BaseException, failed_try: int) -> float | None:
        """Stateless use (a fresh state whose first try began now)."""
        return self.begin().next_delay(error, failed_try)


class _TenacityCall:
    """The decision state of one request's tries (a ``RetryCallState``)."""

    __slots__ = ("_policy", "_state")

    def __init__(self, policy: TenacityRetry) -> None:
        tenacity = _tenacity()
        self._policy = policy
        self._state = tenacity.RetryCallState(policy.retrying, fn=None, args=(), kwargs={})
        self._state.start_time = policy.clock()

    def begin(self) -> _TenacityCall:
        return _TenacityCall(self._policy)

    def next_delay(self, error: BaseException, failed_try: int) -> float | None:
        tenacity = _tenacity()
        policy, state = self._policy, self._state
        if not _is_transport(error):
            return None
        state.attempt_number = failed_try
        future = tenacity.Future(failed_try)
        future.set_exception(error)
        state.outcome = future
        state.outcome_timestamp = policy.clock()
        if not _decided(policy.retry(state), "retry") or _decided(policy.stop(state), "stop"):
            return None
        delay = float(_decided(policy.wait(state), "wait") or 0.0)
        if isinstance(error, RateLimitError | ServerError) and error.retry_after is not None:
            delay = max(delay, min(float(error.retry_after), policy.max_retry_after))
        delay = max(0.0, delay)
        state.next_action = tenacity.RetryAction(delay)
        state.upcoming_sleep = delay
        state.idle_for += delay
        if policy.before_sleep is not None:
            _decided(policy.before_sleep(state), "before_sleep")
        return delay


def _decided(value: Any, name: str) -> Any:
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if close is not None:
            close()
        raise ConfigurationError(
            f"the tenacity {name} strategy returned an awaitable; use synchronous strategies "
            "(the run loop decides without awaiting)"
        )
    return value
