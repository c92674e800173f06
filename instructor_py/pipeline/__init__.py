"""The response pipeline: extract (tolerant or strict) -> validate against the JSON schema ->
deserialize (pydantic) -> validate (validators) -> transform. Each stage returns a value or a
typed failure."""

from __future__ import annotations

from instructor_py.pipeline.extraction import Extracted, extract_json
from instructor_py.pipeline.failures import FieldError, StageFailure
from instructor_py.pipeline.pipeline import PipelineRun, ResponsePipeline
from instructor_py.pipeline.stages import (
    DEFAULT_STAGES,
    DeserializeStage,
    ExtractStage,
    ParseMode,
    PipelineContext,
    Repaired,
    SchemaStage,
    Stage,
    TransformStage,
    ValidateStage,
)
from instructor_py.pipeline.tolerant import (
    ParseFailure,
    ParseResult,
    Repair,
    parse_partial,
    parse_tolerant,
)

__all__ = [
    "DEFAULT_STAGES",
    "DeserializeStage",
    "ExtractStage",
    "Extracted",
    "FieldError",
    "ParseFailure",
    "ParseMode",
    "ParseResult",
    "PipelineContext",
    "PipelineRun",
    "Repair",
    "Repaired",
    "ResponsePipeline",
    "SchemaStage",
    "Stage",
    "StageFailure",
    "TransformStage",
    "ValidateStage",
    "extract_json",
    "parse_partial",
    "parse_tolerant",
]
