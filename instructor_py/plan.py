"""The resolved, immutable description of one structured-output call (built by ``create()``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from instructor_py.emitter import EventDispatcher
from instructor_py.errors import ConfigurationError, UnsupportedModeError
from instructor_py.messages import Example
from instructor_py.modes import OutputMode
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import PipelineContext, Transformer, Validator
from instructor_py.providers.base import InferenceProvider, InferenceRequest, Message
from instructor_py.request_builder import build_request
from instructor_py.response_models.base import ResponseModel
from instructor_py.retry import ValidationRetryPolicy
from instructor_py.transport import TransportRetryPolicy


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """Everything the :class:`~instructor_py.execution.AttemptIterator` needs: the provider, the
    first request, the pipeline and its context, both retry policies and the event dispatcher."""

    provider: InferenceProvider = field(repr=False)
    request: InferenceRequest
    context: PipelineContext
    request_id: str
    pipeline: ResponsePipeline = field(default_factory=ResponsePipeline)
    retry_policy: ValidationRetryPolicy = field(default_factory=ValidationRetryPolicy)
    transport_policy: TransportRetryPolicy = field(default_factory=TransportRetryPolicy)
    events: EventDispatcher = field(default_factory=EventDispatcher)


def build_plan(
    *,
    provider: InferenceProvider,
    response_model: ResponseModel | None,
    messages: tuple[Message, ...],
    mode: OutputMode | None,
    system: str | None = None,
    prompt: str | None = None,
    examples: tuple[Example, ...] = (),
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
    tool_name: str | None = None,
    tool_description: str | None = None,
    validators: tuple[Validator, ...] = (),
    transformers: tuple[Transformer, ...] = (),
    output: Callable[[Any], Any] | None = None,
    retry_policy: ValidationRetryPolicy | None = None,
    pipeline: ResponsePipeline | None = None,
    transport_policy: TransportRetryPolicy | None = None,
    events: EventDispatcher | None = None,
    request_id: str | None = None,
) -> ExecutionPlan:
    """Check the call is complete and the mode supported, and build the first request."""
    if response_model is None:
        raise ConfigurationError(
            "No response_model: call with_(response_model=YourModel) (a pydantic model, "
            "JSON-schema dict, scalar type, Maybe(...), Sequence.of(...), ...)"
        )
    if not messages and not prompt:
        raise ConfigurationError(
            "No messages: call with_(messages='...') (a str, a message dict or a list of them)"
        )
    resolved_mode = mode or provider.default_mode
    if resolved_mode not in provider.supported_modes:
        supported = ", ".join(sorted(m.value for m in provider.supported_modes))
        raise UnsupportedModeError(
            f"Provider {provider.name!r} does not support output mode {resolved_mode.value!r}; "
            f"it supports: {supported}. Pick one with with_output_mode(...)."
        )
    request = build_request(
        messages=messages,
        response_model=response_model,
        mode=resolved_mode,
        system=system,
        prompt=prompt,
        examples=examples,
        model=model or provider.default_model,
        options=options,
        tool_name=tool_name,
        tool_description=tool_description,
    )
    return ExecutionPlan(
        provider=provider,
        request=request,
        context=PipelineContext(
            response_model=response_model,
            validators=validators,
            transformers=transformers,
            output=output,
        ),
        request_id=request_id or uuid.uuid4().hex[:16],
        pipeline=pipeline or ResponsePipeline(),
        retry_policy=retry_policy or ValidationRetryPolicy(),
        transport_policy=transport_policy or TransportRetryPolicy(),
        events=events or EventDispatcher(),
    )
