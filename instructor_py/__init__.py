"""instructor_py: turn LLM output into validated Python objects.

The public API: the builder and what its documented methods take and return (response models,
modes, the call spec, pipelines and retry policies, events, providers and their records) and every
error a caller may catch. Everything else may change.
"""

from __future__ import annotations

from instructor_py.client.batch import BatchResult
from instructor_py.client.pending import PendingStructuredOutput
from instructor_py.client.progress import ProgressBar
from instructor_py.client.structured_output import StructuredOutput
from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import (
    AuthenticationError,
    BadRequestError,
    CbisonError,
    CbisonUnsupportedError,
    ConfigurationError,
    ConstraintCompileError,
    ConstraintError,
    ConstraintTimeoutError,
    ContextOverflowError,
    InstructorError,
    InvalidArgumentError,
    InvalidSchemaError,
    LocalModelError,
    MissingAPIKeyError,
    NotFoundError,
    PatternTimeoutError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    RemoteReferenceError,
    SchemaLimitError,
    SequenceContradictionError,
    ServerError,
    StreamClosedError,
    StreamInterruptedError,
    StructuredOutputParseError,
    StructuredOutputRetryError,
    TemplateError,
    TokenOutOfRangeError,
    TransportError,
    UnsupportedModeError,
    UnsupportedResponseModelError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.guidance import GuidanceTemplate
from instructor_py.pipeline import FieldError, ResponsePipeline, StageFailure
from instructor_py.providers.base import (
    InferenceDelta,
    InferenceProvider,
    InferenceRequest,
    InferenceResponse,
    Message,
    ToolCall,
    ToolSpec,
)
from instructor_py.providers.presets import JsonModeStyle, JsonSchemaStyle, ProviderPreset
from instructor_py.providers.registry import create_provider, preset_names, register_preset
from instructor_py.response_models import (
    Maybe,
    MaybeResult,
    ResponseModel,
    Sequence,
    to_response_model,
)
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.events import (
    AttemptFailed,
    ChunkReceived,
    Event,
    ExtractionFailed,
    InferenceRequested,
    InferenceResponseReceived,
    PartialGenerated,
    ResponseGenerated,
    RetriesExhausted,
    RetryScheduled,
    SequenceItemCompleted,
    StreamStopped,
    StreamVoided,
    StructuredOutputStarted,
    ValidationFailed,
)
from instructor_py.run.messages import Example
from instructor_py.run.response import StructuredOutputResponse
from instructor_py.run.retry import DEFAULT_MAX_RETRIES, ValidationRetryPolicy
from instructor_py.run.transport import TransportRetryPolicy
from instructor_py.streaming import PartialList, PartialModel, partial_model
from instructor_py.streaming.stream import AsyncStructuredOutputStream, StructuredOutputStream

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "AsyncStructuredOutputStream",
    "Attempt",
    "AttemptFailed",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "CallSpec",
    "CbisonError",
    "CbisonUnsupportedError",
    "ChunkReceived",
    "ConfigurationError",
    "ConstraintCompileError",
    "ConstraintError",
    "ConstraintTimeoutError",
    "ContextOverflowError",
    "Event",
    "Example",
    "ExtractionFailed",
    "FieldError",
    "GuidanceTemplate",
    "InferenceDelta",
    "InferenceProvider",
    "InferenceRequest",
    "InferenceRequested",
    "InferenceResponse",
    "InferenceResponseReceived",
    "InstructorError",
    "InvalidArgumentError",
    "InvalidSchemaError",
    "JsonModeStyle",
    "JsonSchemaStyle",
    "LocalModelError",
    "Maybe",
    "MaybeResult",
    "Message",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputMode",
    "PartialGenerated",
    "PartialList",
    "PartialModel",
    "PatternTimeoutError",
    "PendingStructuredOutput",
    "PermissionDeniedError",
    "ProgressBar",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderPreset",
    "ProviderTimeoutError",
    "RateLimitError",
    "RemoteReferenceError",
    "ResponseGenerated",
    "ResponseModel",
    "ResponsePipeline",
    "RetriesExhausted",
    "RetryScheduled",
    "SchemaLimitError",
    "Sequence",
    "SequenceContradictionError",
    "SequenceItemCompleted",
    "ServerError",
    "StageFailure",
    "StreamClosedError",
    "StreamInterruptedError",
    "StreamStopped",
    "StreamVoided",
    "StructuredOutput",
    "StructuredOutputParseError",
    "StructuredOutputResponse",
    "StructuredOutputRetryError",
    "StructuredOutputStarted",
    "StructuredOutputStream",
    "TemplateError",
    "TokenOutOfRangeError",
    "ToolCall",
    "ToolSpec",
    "TransportError",
    "TransportRetryPolicy",
    "UnsupportedModeError",
    "UnsupportedResponseModelError",
    "Usage",
    "ValidationFailed",
    "ValidationRetryPolicy",
    "create_provider",
    "partial_model",
    "preset_names",
    "register_preset",
    "to_response_model",
]
