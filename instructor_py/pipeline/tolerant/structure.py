"""When the answer *is* a JSON structure, it is not read as text.

A schema that allows a string (``{"type": "string"}``, ``oneOf[string, array]``...) could take
any answer as its text. The whole-text reading is meant for prose (``Paris``, an enum named in
a sentence, ``12 kg``), not for an object or array the model wrote instead of the value asked
for: ``{"x": 1}`` for a string schema is a wrong answer, not the string ``'{"x": 1}'``. So the
whole text is not taken verbatim as a string when a readable object or array is the answer:

- it is the whole text (``direct``) or a fenced block (``fenced``), or
- it is embedded in prose and covers at least half of the text, or ends the text after a
  line that introduces it (``Here it is: {...}``).

Prose that only mentions braces (``Use the {name} placeholder``: no readable value) or a short
structure inside a longer sentence (``Items [1, 2] are listed``) still reads as the text. A value
*extracted* from the text (an enum member named in it, a number) is not concerned. The answer is
refused instead, saying why, so that the retry asks for a value of the right kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

from instructor_py.pipeline.tolerant.syntax import Reader, TooDeep

__all__ = ["structure_answer"]

MIN_COVER: Final = 0.5
"""Share of the (stripped) text an embedded structure must cover to be the answer."""


class _Found(Protocol):
    @property
    def source(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def value(self) -> Any: ...

    @property
    def problem(self) -> str | None: ...

    @property
    def open_string(self) -> bool: ...


def structure_answer(text: str, candidates: Sequence[_Found]) -> str | None:
    """``"object"`` or ``"array"`` when such a readable structure is the answer in ``text``
    (module docstring), else ``None``."""
    stripped = len(text.strip())
    for found in candidates:
        value = found.value
        if not isinstance(value, dict | list) or found.problem is not None or found.open_string:
            continue
        kind = "object" if isinstance(value, dict) else "array"
        if found.source in ("direct", "fenced"):
            return kind
        reader = Reader(text, found.start)
        try:
            reader.read()
        except TooDeep:
            return kind
        if stripped and (reader.pos - found.start) / stripped >= MIN_COVER:
            return kind
        lead = text[: found.start].rstrip(" \t")
        if not text[reader.pos :].strip(" \t\r\n.") and lead.endswith((":", "\n")):
            return kind  # introduced ("Here it is:") and nothing after it
    return None
