"""The response pipeline: run the stages in order, stop at the first failure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from instructor_py.pipeline.failures import StageFailure
from instructor_py.pipeline.stages import DEFAULT_STAGES, PipelineContext, Stage


@dataclass(frozen=True, slots=True)
class ResponsePipeline:
    """extract -> schema -> deserialize -> validate -> transform. Stages are replaceable: pass any
    sequence of objects with a ``name`` and ``run(value, ctx)``."""

    stages: tuple[Stage, ...] = DEFAULT_STAGES

    def run(self, text: str, ctx: PipelineContext) -> Any:
        """The final value, or the :class:`StageFailure` of the first stage that rejected it."""
        return self.run_keeping(text, ctx)[0]

    def run_keeping(
        self, text: str, ctx: PipelineContext, stage: str = "deserialize"
    ) -> tuple[Any, Any]:
        """The final value (or the failure) and the value right after the stage called ``stage``
        (the response model's value before validators, transformers and output conversion;
        ``None`` if there is no such stage)."""
        value: Any = text
        kept: Any = None
        for each in self.stages:
            value = each.run(value, ctx)
            if isinstance(value, StageFailure):
                return value, None
            if each.name == stage:
                kept = value
        return value, kept

    def replace(self, name: str, stage: Stage) -> ResponsePipeline:
        """A pipeline with the stage called ``name`` replaced by ``stage``."""
        if name not in {s.name for s in self.stages}:
            raise ValueError(
                f"no stage named {name!r}; stages are {[s.name for s in self.stages]}"
            )
        return ResponsePipeline(tuple(stage if s.name == name else s for s in self.stages))

    @classmethod
    def of(cls, stages: Iterable[Stage]) -> ResponsePipeline:
        return cls(tuple(stages))
