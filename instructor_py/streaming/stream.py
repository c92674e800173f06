"""``stream()`` / ``astream()``: the consumer-facing streams.

Both wrap one :class:`~instructor_py.streaming.session.StreamSession` (all the logic); the only
difference is the I/O edge (:func:`_drive` iterates ``provider.stream`` and sleeps with
``time.sleep``; :func:`_adrive` iterates ``provider.astream`` and awaits ``asyncio.sleep``) and the
iteration syntax of the views. Nothing is sent before the first view is iterated.

Views (use one per stream; a second view continues where the first stopped):

- ``partials()``: growing partial snapshots (partial twins for pydantic models, a
  :class:`~instructor_py.streaming.shapes.PartialList` of partial items for sequences, the growing
  value for scalars, dicts for JSON-schema models). After a void marker (retry), snapshots start
  over from the new attempt.
- ``sequence()``: each list item once, validated, as soon as it is complete (see
  :mod:`instructor_py.streaming.sequence` for the retry contract).
- ``responses()``: ``StructuredOutputResponse`` snapshots: partial ones (``is_partial=True``,
  ``value`` = the partial, ``usage``/``attempts`` = those of the attempts finished so far,
  ``raw_text`` empty), void markers (``is_void=True``, ``value=None``), then the final one
  (``is_partial=False``).
- ``final_value()`` / ``final_response()``: drain and return the validated result.

Once drained, every view replays the cached result (the last partial, all items, the final
response) and never sends a second request; an error that ended the stream is raised again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic

from typing_extensions import TypeVar

from instructor_py.errors import StreamClosedError
from instructor_py.execution import ProviderCall
from instructor_py.plan import ExecutionPlan
from instructor_py.providers.base import InferenceDelta
from instructor_py.response import StructuredOutputResponse
from instructor_py.streaming.session import (
    FinalOutput,
    ItemOutput,
    PartialOutput,
    StreamOutput,
    StreamSession,
    VoidOutput,
)
from instructor_py.streaming.shapes import MISSING

__all__ = ["AsyncStructuredOutputStream", "StructuredOutputStream"]

T = TypeVar("T", default=Any)

_SKIP: Any = MISSING


def _drive(session: StreamSession) -> Iterator[StreamOutput]:
    """The synchronous I/O edge."""
    provider = session.plan.provider
    step: ProviderCall | None = session.start()
    while step is not None:
        while True:
            yield from session.begin_try(step)
            deltas: Iterator[InferenceDelta] | None = None
            try:
                deltas = provider.stream(step.request)
                for delta in deltas:
                    yield from session.on_delta(delta)
            except Exception as error:
                delay = session.try_failed(error, step)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            finally:
                close = getattr(deltas, "close", None)
                if close is not None:
                    close()
            break
        outputs, step = session.end_attempt()
        yield from outputs


async def _adrive(session: StreamSession) -> AsyncIterator[StreamOutput]:
    """The asynchronous I/O edge."""
    provider = session.plan.provider
    step: ProviderCall | None = session.start()
    while step is not None:
        while True:
            for output in session.begin_try(step):
                yield output
            deltas: AsyncIterator[InferenceDelta] | None = None
            try:
                deltas = provider.astream(step.request)
                async for delta in deltas:
                    for output in session.on_delta(delta):
                        yield output
            except Exception as error:
                delay = session.try_failed(error, step)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                continue
            finally:
                aclose = getattr(deltas, "aclose", None)
                if aclose is not None:
                    await aclose()
            break
        outputs, step = session.end_attempt()
        for output in outputs:
            yield output


class _StreamState(Generic[T]):
    """What both streams remember, and how each view maps an output (shared)."""

    def __init__(self, session: StreamSession) -> None:
        self.session = session
        self.final: StructuredOutputResponse[T] | None = None
        self.error: BaseException | None = None
        self.last_partial: Any = MISSING
        self.items: list[Any] = []
        self.contradiction: BaseException | None = None

    def record(self, output: StreamOutput) -> None:
        if isinstance(output, PartialOutput):
            self.last_partial = output.value
        elif isinstance(output, ItemOutput):
            self.items.append(output.item)
        elif isinstance(output, VoidOutput):
            self.last_partial = MISSING
        else:
            self.final = output.response
            self.contradiction = output.contradiction

    # -- views ----------------------------------------------------------------------------------

    def partial(self, output: StreamOutput) -> Any:
        return output.value if isinstance(output, PartialOutput) else _SKIP

    def item(self, output: StreamOutput) -> Any:
        if isinstance(output, ItemOutput):
            return output.item
        if isinstance(output, FinalOutput) and output.contradiction is not None:
            raise output.contradiction
        return _SKIP

    def response(self, output: StreamOutput) -> Any:
        if isinstance(output, PartialOutput):
            return StructuredOutputResponse(
                value=output.value,
                raw_text="",
                raw_response=None,
                usage=output.usage,
                attempts=output.attempts,
                is_partial=True,
            )
        if isinstance(output, VoidOutput):
            return StructuredOutputResponse(
                value=None,
                raw_text="",
                raw_response=None,
                usage=output.usage,
                attempts=output.attempts,
                is_partial=True,
                is_void=True,
            )
        if isinstance(output, FinalOutput):
            return output.response
        return _SKIP

    # -- replay once drained --------------------------------------------------------------------

    def replay(self, pick: Pick) -> list[Any]:
        """What view ``pick`` shows once the stream is drained: the cached result."""
        assert self.final is not None
        if pick == _StreamState.item:
            if self.contradiction is not None:
                raise self.contradiction
            return list(self.items)
        if pick == _StreamState.partial:
            return [] if self.last_partial is MISSING else [self.last_partial]
        return [self.final]

    def close(self) -> None:
        if self.final is None and self.error is None:
            self.error = StreamClosedError(
                "this stream was closed before it finished; start a new one with stream() to get "
                "the result"
            )

    @property
    def drained(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.final is not None

    def final_response(self) -> StructuredOutputResponse[T]:
        if self.error is not None:
            raise self.error
        assert self.final is not None
        return self.final


Pick = Callable[[_StreamState[Any], StreamOutput], Any]


class StructuredOutputStream(Generic[T]):
    """Returned by ``stream()``; see the module docstring."""

    def __init__(self, plan: ExecutionPlan, *, partial_strings: bool = True) -> None:
        session = StreamSession(plan, partial_strings=partial_strings)
        self._state: _StreamState[T] = _StreamState(session)
        self._source: Iterator[StreamOutput] | None = None

    @property
    def request_id(self) -> str:
        return self._state.session.plan.request_id

    def _pull(self) -> Iterator[StreamOutput]:
        state = self._state
        if self._source is None:
            self._source = _drive(state.session)
        try:
            for output in self._source:
                state.record(output)
                yield output
        except Exception as error:
            state.error = error
            raise

    def _view(self, pick: Pick) -> Iterator[Any]:
        state = self._state
        if state.drained:
            yield from state.replay(pick)
            return
        for output in self._pull():
            value = pick(state, output)
            if value is not _SKIP:
                yield value

    def partials(self) -> Iterator[Any]:
        return self._view(_StreamState.partial)

    def __iter__(self) -> Iterator[Any]:
        return self.partials()

    def sequence(self) -> Iterator[Any]:
        self._state.session.spec.require_sequence()
        return self._view(_StreamState.item)

    def responses(self) -> Iterator[StructuredOutputResponse[Any]]:
        return self._view(_StreamState.response)

    def final_response(self) -> StructuredOutputResponse[T]:
        if not self._state.drained:
            for _ in self._pull():
                pass
        return self._state.final_response()

    def final_value(self) -> T:
        return self.final_response().value

    def close(self) -> None:
        """Stop streaming now: the provider's stream (its HTTP response) is closed. Views of a
        closed, undrained stream yield nothing more; ``final_value()`` raises."""
        if self._source is not None and self._state.final is None:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
        self._state.close()

    def __enter__(self) -> StructuredOutputStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return _repr(self, self._state)


class AsyncStructuredOutputStream(Generic[T]):
    """Returned by ``astream()``: the async twin of :class:`StructuredOutputStream` (same session
    and state; ``async for`` over the views, ``await`` the finals)."""

    def __init__(self, plan: ExecutionPlan, *, partial_strings: bool = True) -> None:
        session = StreamSession(plan, partial_strings=partial_strings)
        self._state: _StreamState[T] = _StreamState(session)
        self._source: AsyncIterator[StreamOutput] | None = None

    @property
    def request_id(self) -> str:
        return self._state.session.plan.request_id

    async def _pull(self) -> AsyncIterator[StreamOutput]:
        state = self._state
        if self._source is None:
            self._source = _adrive(state.session)
        try:
            async for output in self._source:
                state.record(output)
                yield output
        except Exception as error:
            state.error = error
            raise

    async def _view(self, pick: Pick) -> AsyncIterator[Any]:
        state = self._state
        if state.drained:
            for value in state.replay(pick):
                yield value
            return
        async for output in self._pull():
            value = pick(state, output)
            if value is not _SKIP:
                yield value

    def partials(self) -> AsyncIterator[Any]:
        return self._view(_StreamState.partial)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.partials()

    def sequence(self) -> AsyncIterator[Any]:
        self._state.session.spec.require_sequence()
        return self._view(_StreamState.item)

    def responses(self) -> AsyncIterator[StructuredOutputResponse[Any]]:
        return self._view(_StreamState.response)

    async def final_response(self) -> StructuredOutputResponse[T]:
        if not self._state.drained:
            async for _ in self._pull():
                pass
        return self._state.final_response()

    async def final_value(self) -> T:
        return (await self.final_response()).value

    async def aclose(self) -> None:
        """Stop streaming now (see :meth:`StructuredOutputStream.close`)."""
        if self._source is not None and self._state.final is None:
            aclose = getattr(self._source, "aclose", None)
            if aclose is not None:
                await aclose()
        self._state.close()

    async def __aenter__(self) -> AsyncStructuredOutputStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return _repr(self, self._state)


def _repr(stream: object, state: _StreamState[Any]) -> str:
    plan = state.session.plan
    status = (
        "failed" if state.error is not None else "drained" if state.final is not None else "open"
    )
    return (
        f"{type(stream).__name__}(request_id={plan.request_id!r}, provider={plan.provider.name!r}, "
        f"response_model={plan.context.response_model.name!r}, {status})"
    )
