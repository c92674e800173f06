"""The response pipeline: run the stages in order, stop at the first failure."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from instructor_py.pipeline.failures import StageFailure
from instructor_py.pipeline.stages import (
    DEFAULT_STAGES,
    PARSE_MODES,
    ExtractStage,
    ParseMode,
    PipelineContext,
    Repaired,
    Stage,
)
from instructor_py.pipeline.tolerant import Repair


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One run of the pipeline: the final ``value`` (or the :class:`StageFailure`), the value
    right after the kept stage (``parsed``), and every repair the stages made (``repairs``; on a
    failure, those made before it)."""

    value: Any
    parsed: Any
    repairs: tuple[Repair, ...]

    @property
    def failed(self) -> bool:
        return isinstance(self.value, StageFailure)


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
        run = self.run_detailed(text, ctx, stage)
        return run.value, run.parsed

    def run_detailed(
        self, text: str, ctx: PipelineContext, stage: str = "deserialize"
    ) -> PipelineRun:
        """Like :meth:`run_keeping`, with the repairs the stages made (a stage reports them by
        returning :class:`~instructor_py.pipeline.stages.Repaired`)."""
        value: Any = text
        kept: Any = None
        repairs: tuple[Repair, ...] = ()
        for each in self.stages:
            value = each.run(value, ctx)
            if isinstance(value, Repaired):
                repairs += value.repairs
                value = value.value
            if isinstance(value, StageFailure):
                return PipelineRun(value, None, repairs)
            if each.name == stage:
                kept = value
        return PipelineRun(value, kept, repairs)

    def with_parsing(self, mode: ParseMode) -> ResponsePipeline:
        """This pipeline with its :class:`ExtractStage` reading answers in ``mode``
        (``"tolerant"`` or ``"strict"``). A replaced extract stage of another kind cannot take a
        mode: that is a ``ValueError``."""
        if mode not in PARSE_MODES:
            raise ValueError(f"parsing must be one of {PARSE_MODES}, got {mode!r}")
        stages = []
        found = False
        for each in self.stages:
            if isinstance(each, ExtractStage):
                each = dataclasses.replace(each, parsing=mode)
                found = True
            stages.append(each)
        if not found:
            raise ValueError("this pipeline has no ExtractStage to set the parsing mode of")
        return ResponsePipeline(tuple(stages))

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
