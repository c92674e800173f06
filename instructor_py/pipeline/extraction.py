"""Pure helpers that find JSON in a model's text answer (no I/O, no pipeline types).

The chain, in order: the whole text as JSON; the first fenced ```json (or bare ```) block that
parses; the first balanced ``{...}``/``[...]`` that parses. The balanced scan is string-aware:
a ``}`` or ``]`` inside a JSON string (with escapes) does not close anything.

:func:`balanced_end` and :func:`scan_balanced` are exposed so streaming code can reuse them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?(.*?)```", re.DOTALL)

_decoder = json.JSONDecoder(strict=False)  # tolerate raw newlines/tabs inside strings


@dataclass(frozen=True, slots=True)
class Extracted:
    """JSON found in text: the parsed ``value`` and the ``method`` that found it."""

    value: Any
    method: str  # "direct" | "fenced" | "balanced"


def loads(text: str) -> Any:
    """``json.loads`` that tolerates control characters inside strings."""
    return _decoder.decode(text)


def parse_direct(text: str) -> Extracted | None:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return Extracted(loads(stripped), "direct")
    except ValueError:
        return None


def fenced_blocks(text: str) -> Iterator[str]:
    """The bodies of fenced code blocks, ``json`` (or unlabelled) ones first."""
    matches = list(_FENCE.finditer(text))
    json_first = sorted(matches, key=lambda m: 0 if m.group(1).lower() in ("json", "") else 1)
    for match in json_first:
        yield match.group(2)


def parse_fenced(text: str) -> Extracted | None:
    if "```" not in text:
        return None
    for body in fenced_blocks(text):
        found = parse_direct(body) or parse_balanced(body)
        if found is not None:
            return Extracted(found.value, "fenced")
    return None


def balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket that closes the one at ``text[start]`` (``{`` or ``[``), or
    ``None`` when it is never closed. Brackets inside JSON strings are ignored."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def scan_balanced(text: str) -> Iterator[str]:
    """Every balanced top-level ``{...}``/``[...]`` candidate, left to right."""
    pos = 0
    while True:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            return
        start = min(starts)
        end = balanced_end(text, start)
        if end is not None:
            yield text[start:end]
        pos = start + 1


def parse_balanced(text: str) -> Extracted | None:
    for candidate in scan_balanced(text):
        try:
            return Extracted(loads(candidate), "balanced")
        except ValueError:
            continue
    return None


Extractor = Callable[[str], "Extracted | None"]

DEFAULT_CHAIN: tuple[Extractor, ...] = (parse_direct, parse_fenced, parse_balanced)


def extract_json(text: str, chain: tuple[Extractor, ...] = DEFAULT_CHAIN) -> Extracted | None:
    """Run the extraction chain; ``None`` when no JSON could be found."""
    for extractor in chain:
        found = extractor(text)
        if found is not None:
            return found
    return None
