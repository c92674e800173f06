"""The record of one attempt (one inference call and what the pipeline made of it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instructor_py.common.usage import Usage


@dataclass(frozen=True, slots=True)
class Attempt:
    """One inference call: the model's raw content, the errors found (empty when it succeeded),
    the pipeline stage that failed (``None`` when it succeeded), its usage and the provider's raw
    response."""

    index: int
    content: str
    errors: tuple[str, ...] = ()
    stage: str | None = None
    usage: Usage = Usage()
    raw_response: Any = None

    @property
    def succeeded(self) -> bool:
        return not self.errors
