"""The resolved, immutable description of one structured-output call (built by ``create()``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from instructor_py.emitter import EventDispatcher
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import PipelineContext
from instructor_py.providers.base import InferenceProvider, InferenceRequest
from instructor_py.retry import ValidationRetryPolicy
from instructor_py.transport import TransportRetryPolicy


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """Everything the :class:`~instructor_py.execution.AttemptIterator` needs: the provider, the
    first request, the pipeline and its context, both retry policies and the event dispatcher."""

    provider: InferenceProvider
    request: InferenceRequest
    context: PipelineContext
    request_id: str
    pipeline: ResponsePipeline = field(default_factory=ResponsePipeline)
    retry_policy: ValidationRetryPolicy = field(default_factory=ValidationRetryPolicy)
    transport_policy: TransportRetryPolicy = field(default_factory=TransportRetryPolicy)
    events: EventDispatcher = field(default_factory=EventDispatcher)
