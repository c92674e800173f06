"""The streaming run, without I/O: shared by the sync and async streams.

A :class:`StreamSession` drives the core's :class:`~instructor_py.execution.AttemptIterator`
(``stream=True``) -- the same attempt logic, pipeline, validation retries and events as ``get()``.
The I/O edge (:mod:`instructor_py.streaming.stream`) only moves deltas:

    step = session.start()
    while step is not None:
        loop:                                   # transport tries of this attempt
            outputs = session.begin_try(step)     # void marker first, if the last try published
            for delta in provider.stream(step.request):
                outputs = session.on_delta(delta) # partial snapshots, completed sequence items
            on a transport error: delay = session.try_failed(error, step); sleep; again
        outputs, step = session.end_attempt()   # pipeline; next attempt (feedback) or the final

Each call returns the :data:`StreamOutput` records the consumer-facing views turn into partials,
sequence items, ``responses()`` snapshots and void markers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from instructor_py.attempts import Attempt
from instructor_py.errors import SequenceContradictionError
from instructor_py.events import (
    ChunkReceived,
    Event,
    PartialGenerated,
    RetryScheduled,
    SequenceItemCompleted,
    StreamVoided,
)
from instructor_py.execution import AttemptIterator, ProviderCall
from instructor_py.modes import OutputMode
from instructor_py.pipeline.extraction import extract_json
from instructor_py.plan import ExecutionPlan
from instructor_py.providers.base import InferenceDelta, InferenceResponse, ToolCall
from instructor_py.response import StructuredOutputResponse
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.partial_model import PartialModel
from instructor_py.streaming.sequence import SequenceTracker
from instructor_py.streaming.shapes import MISSING
from instructor_py.streaming.spec import PartialSpec, partial_spec
from instructor_py.usage import Usage

__all__ = [
    "FinalOutput",
    "ItemOutput",
    "PartialOutput",
    "StreamOutput",
    "StreamSession",
    "VoidOutput",
]


@dataclass(frozen=True, slots=True)
class PartialOutput:
    """``usage``/``attempts``: of the attempts finished before this one."""

    attempt: int
    value: Any
    usage: Usage
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class ItemOutput:
    attempt: int
    index: int
    item: Any


@dataclass(frozen=True, slots=True)
class VoidOutput:
    """Everything published since the last try began is void; ``next_attempt`` starts."""

    attempt: int
    next_attempt: int
    reason: str
    usage: Usage
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class FinalOutput:
    response: StructuredOutputResponse[Any]
    contradiction: SequenceContradictionError | None = None


StreamOutput = PartialOutput | ItemOutput | VoidOutput | FinalOutput

_NONE: list[StreamOutput] = []


def _blank(view: Any) -> bool:
    """An object with nothing in it yet (``{`` alone): not shown, so that prose such as
    ``use {name}`` that the locator later discards never produces a partial (nor a void marker)."""
    if isinstance(view, PartialModel):
        return not view.__pydantic_fields_set__
    return isinstance(view, dict) and not view


class StreamSession:
    """One streamed structured-output call (see the module docstring)."""

    def __init__(self, plan: ExecutionPlan, *, partial_strings: bool = True) -> None:
        self.plan = plan
        self._iterator = AttemptIterator(plan, stream=True)
        self._steps = self._iterator.steps()
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
        self._tries = 0
        self._published_attempt = 0  # attempt whose outputs would be voided (0: none)
        self._void_reason = ""
        self._attempt = 0
        self._reset_try()

    @property
    def spec(self) -> PartialSpec:
        return self._spec

    def _emit(self, event: Event) -> None:
        self.plan.events.emit(event)

    def _new_assembler(self, *, fences: bool) -> StreamAssembler:
        template = self.plan.context.extra.get("template")
        if template is not None:  # a template answer: partials are its variables so far
            from instructor_py.template_output import TemplateAssembler

            return TemplateAssembler(template, self._spec.object_shape)  # type: ignore[return-value]
        return StreamAssembler(
            self._spec.object_shape,
            array_shape=self._spec.array_shape,
            partial_strings=self._partial_strings,
            fences=fences,
            openers=self._spec.openers,
            sequence_path=self._spec.list_path,
        )

    def _reset_try(self) -> None:
        self._assembler = self._new_assembler(fences=not self._tools)
        self._content_fed = False  # TOOLS mode: text fed while no tool call had begun
        self._restarts = 0
        self._content: list[str] = []
        self._arguments: list[str] = []
        self._tool_id: str | None = None
        self._tool_name: str | None = None
        self._other_tool = False
        self._finish: str | None = None
        self._try_usage: Usage | None = None
        self._raw: Any = None
        self._last_view: Any = MISSING

    # -- the protocol driven by the I/O edge ---------------------------------------------------

    def start(self) -> ProviderCall:
        return next(self._steps)

    def begin_try(self, step: ProviderCall) -> list[StreamOutput]:
        """A request for ``step`` is about to be sent (first try or a transport retry)."""
        out: list[StreamOutput] = []
        if self._published_attempt:
            out.append(self._void(step.attempt, self._void_reason))
        self._attempt = step.attempt
        self._reset_try()
        if self._tracker is not None:
            self._tracker.new_attempt()
        self._iterator._requested(step)
        return out

    def on_delta(self, delta: InferenceDelta) -> list[StreamOutput]:
        self._raw = delta.raw
        if delta.finish_reason:
            self._finish = delta.finish_reason
        if delta.usage is not None:
            self._try_usage = delta.usage
        if delta.content:
            self._content.append(delta.content)
        out: list[StreamOutput] = []
        if delta.tool_arguments or delta.tool_call_id or delta.tool_name:
            if self._tools and self._content_fed:  # the tool call follows text: it is the answer
                self._switch_to_tool_call(out)
            text = self._tool_delta(delta) if self._tools else delta.content
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

    def try_failed(self, error: Exception, step: ProviderCall) -> float | None:
        """A try of ``step`` failed with ``error``: the delay before trying again, or ``None``
        when the error is not a transport failure or the transport retries are used up (the
        caller re-raises)."""
        policy = self.plan.transport_policy
        self._tries += 1
        if not policy.is_retryable(error) or self._tries > policy.max_retries:
            return None
        delay = policy.delay_for(error, self._tries)
        self._emit(
            RetryScheduled(
                request_id=self.plan.request_id,
                attempt=step.attempt,
                kind="transport",
                reason=f"{type(error).__name__} on try {self._tries}",
                delay=delay,
            )
        )
        self._void_reason = f"transport failure ({type(error).__name__}); sending the request again"
        return delay

    def end_attempt(self) -> tuple[list[StreamOutput], ProviderCall | None]:
        """The stream of this attempt ended: run the shared pipeline. Returns the outputs (final
        sequence items and the final response) and the next step (``None`` when done). Raises
        :class:`~instructor_py.errors.StructuredOutputRetryError` when retries run out."""
        response = self._response()
        self._usage = self._usage + response.usage
        self._tries = 0
        try:
            step = self._steps.send(response)
        except StopIteration as done:
            final: StructuredOutputResponse[Any] = done.value
            return self._finish_outputs(final), None
        self._finished = self._iterator.attempts
        failed = self._finished[-1] if self._finished else None
        errors = "; ".join(failed.errors)[:300] if failed is not None else ""
        stage = failed.stage if failed is not None else "validation"
        self._void_reason = f"attempt {step.attempt - 1} failed the {stage} stage ({errors}); retrying with the errors as feedback"
        return _NONE, step

    # -- internals -----------------------------------------------------------------------------

    def _text_in_tools_mode(self, content: str) -> str:
        """TOOLS mode, text while no tool call has begun: the answer may come as text (servers that
        ignore tool_choice; the pipeline then reads the text), so it is parsed, fences allowed."""
        if self._tool_id is not None or self._tool_name is not None or self._arguments:
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

    def _tool_delta(self, delta: InferenceDelta) -> str:
        """Arguments text of the first tool call (later parallel calls are not streamed)."""
        if delta.tool_call_id and self._tool_id is None:
            self._tool_id = delta.tool_call_id
        elif delta.tool_call_id and delta.tool_call_id != self._tool_id:
            self._other_tool = True
        if delta.tool_name and self._tool_name is None:
            self._tool_name = delta.tool_name
        if self._other_tool:
            return ""
        self._arguments.append(delta.tool_arguments)
        return delta.tool_arguments

    def _response(self) -> InferenceResponse:
        tool_calls: tuple[ToolCall, ...] = ()
        if self._tool_id is not None or self._tool_name is not None or self._arguments:
            tool_calls = (
                ToolCall(
                    id=self._tool_id or "",
                    name=self._tool_name or "",
                    arguments="".join(self._arguments),
                ),
            )
        return InferenceResponse(
            content="".join(self._content),
            tool_calls=tool_calls,
            finish_reason=self._finish,
            usage=self._try_usage or Usage(),
            raw=self._raw,
        )

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

    def _finish_outputs(self, final: StructuredOutputResponse[Any]) -> list[StreamOutput]:
        out: list[StreamOutput] = []
        if self._tracker is None:
            return [FinalOutput(final)]
        try:
            rest = self._tracker.finish(self._final_items(final), final.value)
        except SequenceContradictionError as error:
            return [FinalOutput(final, error)]
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

    def _final_items(self, final: StructuredOutputResponse[Any]) -> list[Any]:
        """The validated items of the successful answer (as the pipeline extracted it)."""
        spec = self._spec
        assert spec.validate_item is not None and spec.list_field is not None
        found = extract_json(final.raw_text)
        if found is None:  # the pipeline accepted it, so this does not happen
            return list(final.value) if isinstance(final.value, list) else []
        data = self.plan.context.response_model.prepare(found.value)
        return [spec.validate_item(raw) for raw in data[spec.list_field]]
