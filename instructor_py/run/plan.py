"""The resolved, immutable description of one structured-output call (built by ``create()``).

:func:`build_plan` is the only place that resolves what depends on the provider: the output mode
(the call's, else the provider's default; it must be supported), the model (the call's, else the
provider's default) and, in TOOLS mode, the tool (the call's name/description, else the response
model's). Drivers only translate the resulting :class:`InferenceRequest`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from instructor_py.common.errors import ConfigurationError, UnsupportedModeError
from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import PipelineContext
from instructor_py.providers.base import InferenceProvider, InferenceRequest, ToolSpec
from instructor_py.response_models.base import ResponseModel
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.emitter import EventDispatcher
from instructor_py.run.request_builder import build_request
from instructor_py.run.retry import ValidationRetryPolicy
from instructor_py.run.template_output import (
    apply_template,
    apply_thinking,
    template_response_model,
)
from instructor_py.run.transport import TransportRetry


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """Everything a run needs: the provider, the call spec, the first request (resolved), the
    pipeline context, the validation retry policy and the event dispatcher."""

    provider: InferenceProvider = field(repr=False)
    spec: CallSpec
    request: InferenceRequest
    context: PipelineContext
    retry_policy: ValidationRetryPolicy
    request_id: str
    events: EventDispatcher = field(default_factory=EventDispatcher)

    @property
    def pipeline(self) -> ResponsePipeline:
        return self.spec.pipeline

    @property
    def transport_policy(self) -> TransportRetry:
        return self.spec.transport_policy

    @property
    def response_model(self) -> ResponseModel:
        return self.context.response_model


def build_plan(
    provider: InferenceProvider,
    spec: CallSpec,
    *,
    events: EventDispatcher | None = None,
    request_id: str | None = None,
) -> ExecutionPlan:
    """Check the call is complete and the mode supported, resolve mode/model/tool and build the
    first request."""
    response_model = spec.response_model
    if response_model is None and spec.template is not None:
        response_model = template_response_model(spec.template)
    if response_model is None:
        raise ConfigurationError(
            "No response_model: call with_(response_model=YourModel) (a pydantic model, "
            "JSON-schema dict, scalar type, Maybe(...), Sequence.of(...), ...)"
        )
    if not spec.messages and not spec.prompt:
        raise ConfigurationError(
            "No messages: call with_(messages='...') (a str, a message dict or a list of them)"
        )
    mode = spec.mode or provider.default_mode
    if mode not in provider.supported_modes:
        supported = ", ".join(sorted(m.value for m in provider.supported_modes))
        raise UnsupportedModeError(
            f"Provider {provider.name!r} does not support output mode {mode.value!r}; "
            f"it supports: {supported}. Pick one with with_output_mode(...)."
        )
    tool = None
    if mode is OutputMode.TOOLS:
        tool = ToolSpec(
            name=spec.tool_name or response_model.tool_name,
            description=spec.tool_description or response_model.tool_description,
            parameters=response_model.json_schema,
        )
    request = build_request(
        spec, response_model, mode=mode, model=spec.model or provider.default_model, tool=tool
    )
    context = spec.context(response_model)
    if spec.template is not None:
        request, context, spec = apply_template(request, context, spec, spec.template, provider)
    if spec.thinking:
        request = apply_thinking(request, spec.thinking)
    return ExecutionPlan(
        provider=provider,
        spec=spec,
        request=request,
        context=context,
        retry_policy=spec.retry_policy(),
        request_id=request_id or uuid.uuid4().hex[:16],
        events=events or EventDispatcher(),
    )
