"""What the incremental JSON parser reports: completion events and its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instructor_py.common.errors import InstructorError

__all__ = ["ItemCompleted", "JsonStreamError", "ParseEvent", "Path", "ValueCompleted"]

Path = tuple[str | int, ...]


class JsonStreamError(InstructorError, ValueError):
    """The streamed text is not valid JSON at ``position`` (characters since the start)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position}")
        self.position = position


@dataclass(frozen=True, slots=True)
class ValueCompleted:
    """A value (scalar or container) at ``path`` is complete."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class ItemCompleted:
    """Item ``index`` of the array at ``path`` is complete (emitted after its ValueCompleted)."""

    path: Path
    index: int
    value: Any


ParseEvent = ValueCompleted | ItemCompleted
