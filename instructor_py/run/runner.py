"""One run loop for every way a call is made: ``get()``, ``aget()``, ``stream()``, ``astream()``.

:func:`commands` is the whole run without I/O: it drives the core's
:class:`~instructor_py.run.execution.AttemptIterator` (attempts, pipeline, validation retries), wraps
each provider call in transport retries (:meth:`TransportRetryPolicy.next_delay
<instructor_py.run.transport.TransportRetryPolicy.next_delay>`), emits ``InferenceRequested`` per try
and ``RetryScheduled(kind="transport")`` per re-send, and yields three kinds of item:

- :class:`Send`: "call the provider with this request" (the edge sends back the
  :class:`InferenceResponse`, or, when streaming, feeds each delta to the observer and sends
  back ``None``; a failure is thrown back in);
- :class:`Sleep`: "wait this long" (before a transport re-send);
- anything else: an output for the consumer (partials, sequence items, void markers, and last
  the :class:`~instructor_py.run.outputs.FinalOutput`).

With a response cache (``with_cache``), :func:`commands` first looks the call up
(:mod:`instructor_py.run.caching`): a hit sends nothing and replays the cached answer to the
observer as small deltas (so a streamed call's partials and sequence items come out as for a live
stream), then finishes with the cached response; a validated live answer is stored.

A :class:`RunObserver` sees the run: the plain one only wraps the final response; the streaming
session (:class:`~instructor_py.streaming.session.StreamSession`) turns deltas into partials and
accumulates the attempt's response. :func:`run` and :func:`arun` are the two I/O edges (the only
code that differs between sync and async).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, replace
from typing import Any

from instructor_py.common.attempts import Attempt
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.run.caching import CallCache, replay_deltas
from instructor_py.run.events import InferenceRequested, RetryScheduled, StreamStopped
from instructor_py.run.execution import AttemptIterator, ProviderCall, Rejected, StreamRejected
from instructor_py.run.outputs import FinalOutput
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse

__all__ = ["RunObserver", "Send", "Sleep", "arun", "commands", "run"]


@dataclass(frozen=True, slots=True)
class Send:
    request: InferenceRequest


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Reply = InferenceResponse | None
Commands = Generator[Any, Reply, None]


class RunObserver:
    """What a run reports to. The defaults serve a plain (non-streamed) call."""

    streaming = False

    def begin_try(self, step: ProviderCall) -> list[Any]:
        """A request for ``step`` is about to be sent (first try or a transport re-send)."""
        return []

    def on_delta(self, delta: InferenceDelta) -> list[Any]:
        raise NotImplementedError("only a streaming observer receives deltas")

    def response(self) -> InferenceResponse:
        """The attempt's response, accumulated from its deltas (streaming observers)."""
        raise NotImplementedError("only a streaming observer accumulates a response")

    def try_failed(self, error: BaseException) -> None:
        """A try failed with a transport error and will be sent again."""

    def attempt_failed(self, next_step: ProviderCall, attempts: tuple[Attempt, ...]) -> None:
        """The pipeline rejected the attempt; ``next_step`` carries the feedback."""

    def finish(self, final: StructuredOutputResponse[Any]) -> list[Any]:
        return [FinalOutput(final)]


def commands(plan: ExecutionPlan, observer: RunObserver) -> Commands:
    """The run as a generator of :class:`Send` / :class:`Sleep` / outputs (module docstring)."""
    cache = CallCache.for_plan(plan)
    if cache is not None:
        hit = cache.lookup()
        if hit is not None:
            yield from _replay(plan, observer, hit)
            return
    iterator = AttemptIterator(plan, stream=observer.streaming)
    steps = iterator.steps()
    emit = plan.events.emit
    step = next(steps)
    while True:
        failed = 0
        policy = plan.transport_policy.begin()
        while True:
            yield from observer.begin_try(step)
            emit(_requested(plan, step))
            try:
                reply: InferenceResponse | Rejected | None = yield Send(step.request)
            except StreamRejected as rejected:
                emit(
                    StreamStopped(
                        request_id=plan.request_id,
                        attempt=step.attempt,
                        received_bytes=rejected.received_bytes,
                        errors=rejected.failure.messages,
                    )
                )
                reply = Rejected(observer.response(), rejected.failure)
            except Exception as error:
                failed += 1
                delay = policy.next_delay(error, failed)
                if delay is None:
                    raise
                emit(
                    RetryScheduled(
                        request_id=plan.request_id,
                        attempt=step.attempt,
                        kind="transport",
                        reason=f"{type(error).__name__} on try {failed}",
                        delay=delay,
                    )
                )
                observer.try_failed(error)
                yield Sleep(delay)
                continue
            break
        try:
            step = steps.send(observer.response() if reply is None else reply)
        except StopIteration as done:
            if cache is not None:
                cache.store(done.value)
            yield from observer.finish(done.value)
            return
        observer.attempt_failed(step, iterator.attempts)


def _replay(
    plan: ExecutionPlan, observer: RunObserver, hit: StructuredOutputResponse[Any]
) -> Commands:
    """A cache hit: the cached answer through the observer's streaming machinery, then the final."""
    if observer.streaming:
        request = replace(plan.request, stream=True)
        yield from observer.begin_try(ProviderCall(request, 1))
        tool = request.tool.name if request.tool is not None else "response"
        for delta in replay_deltas(hit.raw_text, request.mode, tool):
            yield from observer.on_delta(delta)
    yield from observer.finish(hit)


def _requested(plan: ExecutionPlan, step: ProviderCall) -> InferenceRequested:
    request = step.request
    return InferenceRequested(
        request_id=plan.request_id,
        attempt=step.attempt,
        provider=plan.provider.name,
        model=request.model,
        mode=str(request.mode),
        message_count=len(request.messages),
        stream=request.stream,
    )


class _Machine:
    """Iterates :func:`commands`, sending back what the edge recorded for the last ``Send``
    (its reply, or its failure, thrown in)."""

    __slots__ = ("_error", "_gen", "_reply")

    def __init__(self, plan: ExecutionPlan, observer: RunObserver) -> None:
        self._gen = commands(plan, observer)
        self._reply: Reply = None
        self._error: Exception | None = None

    def __iter__(self) -> _Machine:
        return self

    def __next__(self) -> Any:
        reply, error = self._reply, self._error
        self._reply = self._error = None
        return self._gen.send(reply) if error is None else self._gen.throw(error)

    def reply(self, response: InferenceResponse) -> None:
        self._reply = response

    def fail(self, error: Exception) -> None:
        self._error = error


def run(plan: ExecutionPlan, observer: RunObserver) -> Iterator[Any]:
    """The synchronous edge: ``provider.infer`` / ``provider.stream``, ``time.sleep``."""
    provider = plan.provider
    machine = _Machine(plan, observer)
    for item in machine:
        if type(item) is Sleep:
            time.sleep(item.seconds)
        elif type(item) is not Send:
            yield item
        elif not observer.streaming:
            try:
                machine.reply(provider.infer(item.request))
            except Exception as error:
                machine.fail(error)
        else:
            deltas: Any = None
            try:
                deltas = provider.stream(item.request)
                for delta in deltas:
                    yield from observer.on_delta(delta)
            except Exception as error:
                machine.fail(error)
            finally:
                getattr(deltas, "close", _nothing)()


async def arun(plan: ExecutionPlan, observer: RunObserver) -> AsyncIterator[Any]:
    """The asynchronous edge: ``provider.ainfer`` / ``provider.astream``, ``asyncio.sleep``."""
    provider = plan.provider
    machine = _Machine(plan, observer)
    for item in machine:
        if type(item) is Sleep:
            await asyncio.sleep(item.seconds)
        elif type(item) is not Send:
            yield item
        elif not observer.streaming:
            try:
                machine.reply(await provider.ainfer(item.request))
            except Exception as error:
                machine.fail(error)
        else:
            adeltas: Any = None
            try:
                adeltas = provider.astream(item.request)
                async for delta in adeltas:
                    for output in observer.on_delta(delta):
                        yield output
            except Exception as error:
                machine.fail(error)
            finally:
                await getattr(adeltas, "aclose", _anothing)()


def _nothing() -> None:
    return None


async def _anothing() -> None:
    return None


def final_of(outputs: Iterator[Any]) -> StructuredOutputResponse[Any]:
    """The final response among a run's outputs (``get()``: other outputs are not watched)."""
    for output in outputs:
        if isinstance(output, FinalOutput):
            return output.response
    raise AssertionError("a run always ends with its final output or an error")


async def afinal_of(outputs: AsyncIterator[Any]) -> StructuredOutputResponse[Any]:
    """:func:`final_of` for an async run."""
    async for output in outputs:
        if isinstance(output, FinalOutput):
            return output.response
    raise AssertionError("a run always ends with its final output or an error")
