"""The result of a structured-output call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from instructor_py.common.attempts import Attempt
from instructor_py.common.usage import Usage
from instructor_py.pipeline.tolerant import Repair

T = TypeVar("T", default=Any)


@dataclass(frozen=True, slots=True)
class StructuredOutputResponse(Generic[T]):
    """``value``: the validated (and transformed) value; ``raw_text``: the text it was extracted
    from; ``raw_response``: the provider's response object of the successful attempt; ``usage``:
    summed over every attempt; ``attempts``: each attempt, failed ones first; ``parsed``: the
    response model's value before validators, transformers and output conversion;
    ``cache_hit``: the answer came from the response cache (``with_cache``): no request was sent,
    and ``raw_text``, ``usage`` and ``attempts`` are those of the call that stored it;
    ``repairs``: what the tolerant parser repaired or coerced to read the answer (path, kind,
    detail), empty when the answer was strict JSON of the schema (``with_parsing("strict")``
    turns the tolerant parser off)."""

    value: T
    raw_text: str
    raw_response: Any
    usage: Usage
    attempts: tuple[Attempt, ...]
    is_partial: bool = False
    #: Streaming only: a marker that the partials before it are void (a new try begins).
    is_void: bool = False
    parsed: Any = None
    cache_hit: bool = False
    repairs: tuple[Repair, ...] = ()

    @property
    def field_probabilities(self) -> Mapping[str, Mapping[Any, float]]:
        """JSON path (``$.sentiment``) -> {value: probability} for each choice field the
        provider decided by scoring its options (the local provider's enum, ``Literal`` and
        ``bool`` fields); empty when the provider reports none."""
        found = getattr(self.raw_response, "field_probabilities", None)
        return found if isinstance(found, Mapping) else {}
