"""The records the tolerant parser hands back: what it read, what it repaired, why it refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ParseFailure", "ParseResult", "Repair"]


@dataclass(frozen=True, slots=True)
class Repair:
    """One repair or coercion applied to the answer.

    ``path`` is a JSON path (``$`` the whole answer, ``$.items[0].price`` a field), ``kind`` a short
    code (``unquoted_key``, ``trailing_comma``, ``number_thousands``, ``enum_case``...), ``detail``
    a sentence for people."""

    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} ({self.detail})"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The value read from the answer (plain JSON data) and every repair that reading needed.
    ``source`` says where in the text it was found: ``direct``, ``fenced``, ``embedded`` or
    ``text`` (the whole answer read as a scalar)."""

    value: Any
    repairs: tuple[Repair, ...]
    source: str


FailureKind = Literal["ambiguous", "mismatch", "unreadable"]


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """The parser refused the answer.

    ``kind`` is ``ambiguous`` (two readings fit: never guessed), ``mismatch`` (a value was found
    but no reading of it fits the schema) or ``unreadable`` (no value found, or the text ends
    inside a string). ``best_effort`` is the first value found, syntax repaired but not coerced
    (``None`` when there is none), so schema validation can still name the failing fields."""

    kind: FailureKind
    path: str
    message: str
    best_effort: Any = None
    has_best_effort: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
