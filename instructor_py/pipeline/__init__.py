"""The response pipeline: extract -> validate against the JSON schema -> deserialize (pydantic) ->
validate (validators) -> transform. Each stage returns a value or a typed failure."""

from __future__ import annotations

from instructor_py.pipeline.extraction import Extracted, extract_json
from instructor_py.pipeline.failures import FieldError, StageFailure
from instructor_py.pipeline.pipeline import ResponsePipeline
from instructor_py.pipeline.stages import (
    DEFAULT_STAGES,
    DeserializeStage,
    ExtractStage,
    PipelineContext,
    SchemaStage,
    Stage,
    TransformStage,
    ValidateStage,
)

__all__ = [
    "DEFAULT_STAGES",
    "DeserializeStage",
    "ExtractStage",
    "Extracted",
    "FieldError",
    "PipelineContext",
    "ResponsePipeline",
    "SchemaStage",
    "Stage",
    "StageFailure",
    "TransformStage",
    "ValidateStage",
    "extract_json",
]
