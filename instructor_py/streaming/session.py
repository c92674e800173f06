"""The streaming observer of a run: deltas in; partial snapshots, sequence items and void markers
out (no I/O, no retries: :mod:`instructor_py.run.runner` runs the call, as for ``get()``).

A :class:`StreamSession` is the :class:`~instructor_py.run.runner.RunObserver` of a streamed run. For
each try it accumulates the deltas into the attempt's response
(:class:`~instructor_py.providers.accumulator.DeltaAccumulator`) and feeds the answer text to a
:class:`~instructor_py.streaming.assembler.StreamAssembler`; it publishes
:mod:`~instructor_py.run.outputs` records that the consumer-facing views turn into partials,
sequence items, ``responses()`` snapshots and void markers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import SequenceContradictionError
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.pipeline.stages import ExtractStage, tolerant_schema
from instructor_py.providers.accumulator import DeltaAccumulator
from instructor_py.providers.base import InferenceDelta, InferenceResponse
from instructor_py.run.events import (
    ChunkReceived,
    Event,
    PartialGenerated,
    SequenceItemCompleted,
    StreamVoided,
)
from instructor_py.run.execution import ProviderCall, StreamRejected
from instructor_py.run.outputs import (
    FinalOutput,
    ItemOutput,
    PartialOutput,
    StreamOutput,
    VoidOutput,
)
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.runner import RunObserver
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.check import check_for
from instructor_py.streaming.partial_model import PartialModel
from instructor_py.streaming.sequence import SequenceTracker
from instructor_py.streaming.shapes import MISSING
from instructor_py.streaming.spec import PartialSpec, partial_spec
from instructor_py.streaming.tolerant import TolerantAssembler

__all__ = ["StreamSession"]


def _tolerant_schema(plan: ExecutionPlan) -> Mapping[str, Any] | None:
    """The schema streamed answers are read with tolerantly, or ``None`` (strict streaming:
    ``with_parsing("strict")``, or a pipeline whose extract stage is not the default one)."""
    for stage in plan.pipeline.stages:
        if isinstance(stage, ExtractStage):
            if stage.parsing != "tolerant":
                return None
            return tolerant_schema(plan.context.response_model)
    return None

_NONE: list[StreamOutput] = []


def _blank(view: Any) -> bool:
    """An object with nothing in it yet (``{`` alone): not shown, so that prose such as
    ``use {name}`` that the locator later discards never produces a partial (nor a void marker)."""
    if isinstance(view, PartialModel):
        return not view.__pydantic_fields_set__
    return isinstance(view, dict) and not view


class StreamSession(RunObserver):
    """One streamed structured-output call (see the module docstring)."""

    streaming = True

    def __init__(
        self, plan: ExecutionPlan, *, partial_strings: bool = True, streamed: bool = True
    ) -> None:
        """``streamed``: the caller watches the stream (``stream()``); ``False`` for a ``get()``
        that streams only so that its answer is checked as it arrives."""
        self.plan = plan
        self._streamed = streamed
        self._items_only = False
        self._tolerant_schema = _tolerant_schema(plan)
        self._make_check = check_for(plan, streamed=streamed, tolerant=self._tolerant_schema)
        self._whole = getattr(plan.provider, "whole_of_stream", None)
        self._spec: PartialSpec = partial_spec(plan.context.response_model)
        self._tools = plan.request.mode is OutputMode.TOOLS
        self._partial_strings = partial_strings
        validate = self._spec.validate_item
        self._tracker = SequenceTracker(validate) if validate is not None else None
        self._usage = Usage()  # summed over finished attempts
        self._finished: tuple[Attempt, ...] = ()
        events = plan.events
        self._listening = bool(events.handlers or events.wiretaps) or logging.getLogger(
            "instructor_py"
        ).isEnabledFor(logging.DEBUG)
        self._partials = 0
        self._published_attempt = 0  # attempt whose outputs would be voided (0: none)
        self._void_reason = ""
        self._attempt = 0
        self._reset_try()

    def items_only(self) -> None:
        """Before the run: only ``sequence()`` is watched; no partial snapshots are built."""
        self._items_only = self._tracker is not None

    @property
    def checked(self) -> bool:
        """Whether the answers are checked as they stream."""
        return self._make_check is not None

    @property
    def spec(self) -> PartialSpec:
        return self._spec

    def _emit(self, event: Event) -> None:
        self.plan.events.emit(event)

    def _new_assembler(self, *, fences: bool, replay: bool = False) -> StreamAssembler:
        live = not replay
        template = self.plan.context.extra.get("template")
        if template is not None:  # a template answer: partials are its variables so far
            from instructor_py.streaming.template_assembler import TemplateAssembler

            return TemplateAssembler(template, self._spec.object_shape)  # type: ignore[return-value]
        snapshots = replay or (self._streamed and not self._items_only)
        strict = StreamAssembler(
            self._spec.object_shape,
            array_shape=self._spec.array_shape,
            partial_strings=self._partial_strings,
            snapshots=snapshots,
            items_only=live and self._items_only,
            fences=fences,
            openers=self._spec.openers,
            sequence_path=self._spec.list_path,
            make_check=self._make_check if live else None,
            events=self._tolerant_schema is not None and snapshots,
        )
        if self._tolerant_schema is None or not (self._streamed or replay):
            return strict  # (a get() that streams to be checked shows no partials)
        return TolerantAssembler(  # type: ignore[return-value]
            strict,
            self._tolerant_schema,
            shape=self._spec.object_shape,
            array_shape=self._spec.array_shape,
            sequence_path=self._spec.list_path,
            snapshots=snapshots,
        )

    def last_partial(self, final: StructuredOutputResponse[Any]) -> Any:
        """The last partial snapshot of the final answer, built from its text: what a
        ``partials()`` view replays after a ``sequence()``-only run (which built none)."""
        assembler = self._new_assembler(fences=True, replay=True)
        assembler.feed(final.raw_text)
        snapshot = assembler.snapshot()
        if isinstance(assembler, TolerantAssembler):
            last = assembler.finish()
            snapshot = snapshot if last is MISSING else last
        return MISSING if snapshot is MISSING else self._spec.unwrap(snapshot, assembler.root_is_array)

    def _reset_try(self) -> None:
        self._assembler = self._new_assembler(fences=not self._tools)
        self._content_fed = False  # TOOLS mode: text fed while no tool call had begun
        self._restarts = 0
        self._answer = DeltaAccumulator()
        self._last_view: Any = MISSING

    # -- the RunObserver protocol -------------------------------------------------------------

    def begin_try(self, step: ProviderCall) -> list[StreamOutput]:
        """A request for ``step`` is about to be sent (first try or a transport retry)."""
        out: list[StreamOutput] = []
        if self._published_attempt:
            out.append(self._void(step.attempt, self._void_reason))
        self._attempt = step.attempt
        self._reset_try()
        if self._tracker is not None:
            self._tracker.new_attempt()
        return out

    def on_delta(self, delta: InferenceDelta) -> list[StreamOutput]:
        arguments = self._answer.add(delta)
        out: list[StreamOutput] = []
        if delta.tool_arguments or delta.tool_call_id or delta.tool_name:
            if self._tools and self._content_fed:  # the tool call follows text: it is the answer
                self._switch_to_tool_call(out)
            text = arguments if self._tools else delta.content
        elif self._tools:
            text = self._text_in_tools_mode(delta.content)
        else:
            text = delta.content
        if self._listening:
            size = len(delta.content) + len(delta.tool_arguments)
            self._emit(
                ChunkReceived(request_id=self.plan.request_id, attempt=self._attempt, size=size)
            )
        if not text:
            return out or _NONE
        assembler = self._assembler
        assembler.feed(text)
        check = assembler.check
        if check is not None and check.failure is not None:
            raise StreamRejected(check.failure, check.received)
        if assembler.restarts != self._restarts:  # the text so far was not the JSON answer
            self._restarts = assembler.restarts
            if self._published_attempt:
                out.append(self._void(self._attempt, "the text streamed so far was not the answer"))
                self._last_view = MISSING
                if self._tracker is not None:
                    self._tracker.new_attempt()
        snapshot = assembler.snapshot()
        if snapshot is not MISSING:
            view = self._spec.unwrap(snapshot, assembler.root_is_array)
            if view is not MISSING and view is not self._last_view and not _blank(view):
                self._last_view = view
                out.append(PartialOutput(self._attempt, view, self._usage, self._finished))
                self._partials += 1
                if self._listening:
                    self._emit(
                        PartialGenerated(
                            request_id=self.plan.request_id,
                            attempt=self._attempt,
                            index=self._partials,
                        )
                    )
        if self._tracker is not None:
            for event in assembler.pop_items():
                item = self._tracker.offer(event.index, event.value)
                if item is not None:
                    out.append(ItemOutput(self._attempt, event.index, item))
                    self._emit(
                        SequenceItemCompleted(
                            request_id=self.plan.request_id,
                            attempt=self._attempt,
                            index=event.index,
                        )
                    )
        if out:
            self._published_attempt = self._attempt
        return out

    def try_failed(self, error: BaseException) -> None:
        self._void_reason = f"transport failure ({type(error).__name__}); sending the request again"

    def attempt_failed(self, next_step: ProviderCall, attempts: tuple[Attempt, ...]) -> None:
        self._usage = self._usage + self._answer.response().usage
        self._finished = attempts
        failed = attempts[-1] if attempts else None
        errors = "; ".join(failed.errors)[:300] if failed is not None else ""
        stage = failed.stage if failed is not None else "validation"
        self._void_reason = (
            f"attempt {next_step.attempt - 1} failed the {stage} stage ({errors}); retrying "
            "with the errors as feedback"
        )

    def response(self) -> InferenceResponse:
        """The try's answer; a driver that can (``whole_of_stream``) makes its ``raw`` the body
        a whole answer would have had."""
        answer = self._answer
        response = answer.response()
        if self._whole is None or response.raw is None:
            return response
        return replace(response, raw=self._whole(response, answer.first_raw, response.raw))

    def finish(self, final: StructuredOutputResponse[Any]) -> list[StreamOutput]:
        out: list[StreamOutput] = self._last_reading()
        if self._tracker is None:
            return [*out, FinalOutput(final)]
        parsed = final.parsed
        try:
            rest = self._tracker.finish(list(parsed) if isinstance(parsed, list) else [], final.value)
        except SequenceContradictionError as error:
            return [*out, FinalOutput(final, error)]
        start = len(self._tracker.yielded) - len(rest)
        for offset, item in enumerate(rest):
            out.append(ItemOutput(self._attempt, start + offset, item))
            self._emit(
                SequenceItemCompleted(
                    request_id=self.plan.request_id, attempt=self._attempt, index=start + offset
                )
            )
        out.append(FinalOutput(final))
        return out

    # -- internals -----------------------------------------------------------------------------

    def _last_reading(self) -> list[StreamOutput]:
        """A tolerantly read answer: the snapshot of the whole answer, when it differs from the
        last one shown (so the last partial equals the final value)."""
        assembler = self._assembler
        if not isinstance(assembler, TolerantAssembler) or not self._streamed or self._items_only:
            return []
        snapshot = assembler.finish()
        if snapshot is MISSING:
            return []
        view = self._spec.unwrap(snapshot, assembler.root_is_array)
        if view is MISSING or view == self._last_view:
            return []
        self._last_view = view
        return [PartialOutput(self._attempt, view, self._usage, self._finished)]

    def _text_in_tools_mode(self, content: str) -> str:
        """TOOLS mode, text while no tool call has begun: the answer may come as text (servers that
        ignore tool_choice; the pipeline then reads the text), so it is parsed, fences allowed."""
        if self._answer.in_tool_call:
            return ""
        if content and not self._content_fed:
            self._content_fed = True
            self._assembler = self._new_assembler(fences=True)
        return content

    def _switch_to_tool_call(self, out: list[StreamOutput]) -> None:
        """A tool call begins after text was parsed: drop the text's partials (void marker)."""
        self._content_fed = False
        if self._published_attempt:
            out.append(
                self._void(self._attempt, "the text before the tool call was not the answer")
            )
        self._assembler = self._new_assembler(fences=False)
        self._restarts = 0
        self._last_view = MISSING
        if self._tracker is not None:
            self._tracker.new_attempt()

    def _void(self, next_attempt: int, reason: str) -> VoidOutput:
        attempt = self._published_attempt
        self._published_attempt = 0
        self._emit(
            StreamVoided(
                request_id=self.plan.request_id,
                attempt=attempt,
                next_attempt=next_attempt,
                reason=reason,
            )
        )
        return VoidOutput(attempt, next_attempt, reason, self._usage, self._finished)
