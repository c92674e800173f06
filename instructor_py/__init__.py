"""instructor_py: turn LLM output into validated Python objects."""

from __future__ import annotations

from instructor_py.attempts import Attempt
from instructor_py.errors import (
    AuthenticationError,
    ConfigurationError,
    InstructorError,
    ProviderError,
    SequenceContradictionError,
    StreamClosedError,
    StructuredOutputRetryError,
    TemplateError,
    TransportError,
    UnsupportedModeError,
    UnsupportedResponseModelError,
)
from instructor_py.events import Event
from instructor_py.execution import AttemptIterator, ProviderCall
from instructor_py.guidance import GuidanceTemplate
from instructor_py.messages import Example
from instructor_py.modes import OutputMode
from instructor_py.pending import PendingStructuredOutput
from instructor_py.pipeline import FieldError, ResponsePipeline, StageFailure
from instructor_py.response import StructuredOutputResponse
from instructor_py.response_models import (
    Maybe,
    MaybeResult,
    ResponseModel,
    Sequence,
    to_response_model,
)
from instructor_py.retry import DEFAULT_MAX_RETRIES
from instructor_py.streaming import PartialList, PartialModel, partial_model
from instructor_py.streaming.stream import AsyncStructuredOutputStream, StructuredOutputStream
from instructor_py.structured_output import StructuredOutput
from instructor_py.usage import Usage

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "AsyncStructuredOutputStream",
    "Attempt",
    "AttemptIterator",
    "AuthenticationError",
    "ConfigurationError",
    "Event",
    "Example",
    "FieldError",
    "GuidanceTemplate",
    "InstructorError",
    "Maybe",
    "MaybeResult",
    "OutputMode",
    "PartialList",
    "PartialModel",
    "PendingStructuredOutput",
    "ProviderCall",
    "ProviderError",
    "ResponseModel",
    "ResponsePipeline",
    "Sequence",
    "SequenceContradictionError",
    "StageFailure",
    "StreamClosedError",
    "StructuredOutput",
    "StructuredOutputResponse",
    "StructuredOutputRetryError",
    "StructuredOutputStream",
    "TemplateError",
    "TransportError",
    "UnsupportedModeError",
    "UnsupportedResponseModelError",
    "Usage",
    "partial_model",
    "to_response_model",
]
