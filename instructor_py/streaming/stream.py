"""``stream()`` / ``astream()``: the consumer-facing streams.

Both are one generic stream (:class:`_Stream`: the session, the remembered state, the views'
mapping, the replay); the run is :mod:`instructor_py.run.runner`'s (``run`` or ``arun``, the only
code that differs between sync and async), and the two classes add only the iteration syntax of
the views. Nothing is sent before the first view is iterated.

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

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic

from typing_extensions import TypeVar

from instructor_py.common.errors import StreamClosedError
from instructor_py.run.outputs import (
    FinalOutput,
    ItemOutput,
    PartialOutput,
    StreamOutput,
    VoidOutput,
)
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.runner import arun, run
from instructor_py.streaming.session import StreamSession
from instructor_py.streaming.shapes import MISSING

__all__ = ["AsyncStructuredOutputStream", "StructuredOutputStream"]

T = TypeVar("T", default=Any)
S = TypeVar("S")

_SKIP: Any = MISSING


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
            if self.last_partial is MISSING:  # a sequence()-only run built no snapshots
                self.last_partial = self.session.last_partial(self.final)
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


class _Stream(Generic[S, T]):
    """What both streams share; ``S`` is the source type (an iterator or an async iterator of
    outputs), made on first use by ``_open``."""

    def __init__(self, plan: ExecutionPlan, *, partial_strings: bool = True) -> None:
        session = StreamSession(plan, partial_strings=partial_strings)
        self._state: _StreamState[T] = _StreamState(session)
        self._source: S | None = None

    @property
    def request_id(self) -> str:
        return self._state.session.plan.request_id

    def _checked_sequence(self) -> Pick:
        self._state.session.spec.require_sequence()
        if self._source is None:  # sequence() is the first view: no partials to build
            self._state.session.items_only()
        return _StreamState.item

    def __repr__(self) -> str:
        plan = self._state.session.plan
        state = self._state
        status = (
            "failed" if state.error is not None else "drained" if state.final is not None else "open"
        )
        return (
            f"{type(self).__name__}(request_id={plan.request_id!r}, "
            f"provider={plan.provider.name!r}, response_model={plan.response_model.name!r}, "
            f"{status})"
        )


class StructuredOutputStream(_Stream[Iterator[StreamOutput], T]):
    """Returned by ``stream()``; see the module docstring."""

    def _pull(self) -> Iterator[StreamOutput]:
        state = self._state
        if self._source is None:
            self._source = run(state.session.plan, state.session)
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
        return self._view(self._checked_sequence())

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


class AsyncStructuredOutputStream(_Stream[AsyncIterator[StreamOutput], T]):
    """Returned by ``astream()``: :class:`StructuredOutputStream` with ``async for`` over the
    views and ``await`` on the finals."""

    async def _pull(self) -> AsyncIterator[StreamOutput]:
        state = self._state
        if self._source is None:
            self._source = arun(state.session.plan, state.session)
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
        return self._view(self._checked_sequence())

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
