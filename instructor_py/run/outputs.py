"""The records a run hands its consumer: partial snapshots, completed sequence items, void markers
and the final response (the consumer-facing views of :mod:`instructor_py.streaming.stream` turn
them into partials, items and ``responses()`` snapshots)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import SequenceContradictionError
from instructor_py.common.usage import Usage
from instructor_py.run.response import StructuredOutputResponse

__all__ = ["FinalOutput", "ItemOutput", "PartialOutput", "StreamOutput", "VoidOutput"]


@dataclass(frozen=True, slots=True)
class PartialOutput:
    """``usage``/``attempts``: of the attempts finished before this one."""

    attempt: int
    value: Any
    usage: Usage
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class ItemOutput:
    attempt: int
    index: int
    item: Any


@dataclass(frozen=True, slots=True)
class VoidOutput:
    """Everything published since the last try began is void; ``next_attempt`` starts."""

    attempt: int
    next_attempt: int
    reason: str
    usage: Usage
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class FinalOutput:
    response: StructuredOutputResponse[Any]
    contradiction: SequenceContradictionError | None = None


StreamOutput = PartialOutput | ItemOutput | VoidOutput | FinalOutput
