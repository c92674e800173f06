"""Typed failure records: what went wrong in which stage, with JSON paths."""

from __future__ import annotations

from dataclasses import dataclass

from instructor_py.common.json_path import json_path

__all__ = ["FieldError", "StageFailure", "json_path"]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem at a JSON path (``$`` is the whole answer, ``$.items[0].age`` a field)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class StageFailure:
    """A pipeline stage rejected the model's answer. Never an exception: it is data for the retry
    policy. ``stage`` is one of ``extract``, ``schema``, ``deserialize``, ``validate``,
    ``transform`` (or a custom stage's name)."""

    stage: str
    errors: tuple[FieldError, ...]

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(str(e) for e in self.errors)

    @classmethod
    def single(cls, stage: str, message: str, path: str = "$") -> StageFailure:
        return cls(stage, (FieldError(path, message),))
