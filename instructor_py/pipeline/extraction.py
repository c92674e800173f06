"""Pure helpers that find JSON in a model's text answer (no I/O, no pipeline types).

Reasoning blocks (``<think>...</think>``) are dropped first. The chain, in order: the whole text
as JSON; the first fenced ```json (or bare ```) block that
parses; the first balanced ``{...}``/``[...]`` that parses. The balanced scan is string-aware:
a ``}`` or ``]`` inside a JSON string (with escapes) does not close anything.

:func:`balanced_end` and :func:`scan_balanced` are exposed so streaming code can reuse them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from instructor_py.common.json_scan import structure

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?(.*?)```", re.DOTALL)

_REASONING_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_REASONING_CLOSE = {
    tag: re.compile(rf"</{tag}>", re.IGNORECASE) for tag in ("think", "thinking", "reasoning")
}

_decoder = json.JSONDecoder(strict=False)  # tolerate raw newlines/tabs inside strings


@dataclass(frozen=True, slots=True)
class Extracted:
    """JSON found in text: the parsed ``value`` and the ``method`` that found it."""

    value: Any
    method: str  # "direct" | "fenced" | "balanced"


def loads(text: str) -> Any:
    """``json.loads`` that tolerates control characters inside strings. JSON nested too deeply
    for Python's parser is a ``ValueError`` like any other unparsable text."""
    try:
        return _decoder.decode(text)
    except RecursionError:
        raise ValueError("the JSON nests too deeply to parse") from None


def _raw_decode(text: str, start: int) -> tuple[Any, int]:
    try:
        return _decoder.raw_decode(text, start)
    except RecursionError:
        raise ValueError("the JSON nests too deeply to parse") from None


def parse_direct(text: str) -> Extracted | None:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value = loads(stripped)
    except ValueError:
        return None
    if isinstance(value, str) and ("{" in value or "[" in value):
        # a double-encoded answer: a JSON string holding the JSON object (maybe fenced)
        inner = extract_json(value)
        if inner is not None and isinstance(inner.value, dict | list):
            return Extracted(inner.value, "direct")
    return Extracted(value, "direct")


MAX_FENCES = 64
"""Fence openers tried by :func:`parse_fenced` (an answer has a handful; thousands are hostile)."""

_FENCE_OPEN = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?")


def _json_label_first(matches: list[re.Match[str]]) -> list[re.Match[str]]:
    return sorted(matches, key=lambda m: 0 if m.group(1).lower() in ("json", "") else 1)


def fenced_blocks(text: str) -> Iterator[str]:
    """The bodies of fenced code blocks, ``json`` (or unlabelled) ones first."""
    for match in _json_label_first(list(_FENCE.finditer(text))):
        yield match.group(2)


def parse_fenced(text: str) -> Extracted | None:
    """JSON right after an opening fence (a backtick run inside a JSON string does not end it),
    else the first fenced block whose body holds JSON."""
    if "```" not in text:
        return None
    # at most MAX_FENCES openers: each failed decode costs O(position) (the error's line number)
    openers = list(itertools.islice(_FENCE_OPEN.finditer(text), MAX_FENCES))
    for match in _json_label_first(openers):
        start = match.end()
        while start < len(text) and text[start].isspace():
            start += 1
        try:
            value, end = _raw_decode(text, start)
        except ValueError:
            continue
        rest = text[end:].lstrip()
        if not rest or rest.startswith("```"):
            return Extracted(value, "fenced")
    for body in fenced_blocks(text):
        found = parse_direct(body) or parse_balanced(body)
        if found is not None:
            return Extracted(found.value, "fenced")
    return None


def balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket that closes the one at ``text[start]`` (``{`` or ``[``), or
    ``None`` when it is never closed. Brackets inside JSON strings are ignored."""
    depth = 0
    for token in structure(text, start):
        ch = token.group()[0]
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``{``/``[`` in ``text`` outside JSON strings (linear)."""
    depth = deepest = 0
    for token in structure(text):
        ch = token.group()[0]
        if ch in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "}]":
            depth = max(0, depth - 1)
    return deepest


def scan_balanced(text: str) -> Iterator[str]:
    """Every balanced top-level ``{...}``/``[...]`` candidate, left to right.

    The scans together examine at most ``SCAN_BUDGET_FACTOR * len(text)`` characters (plus a
    constant): an answer of a thousand unclosed brackets, or deeply nested ones that fail to
    parse, costs linear time instead of quadratic. Ordinary answers never reach the budget."""
    budget = SCAN_BUDGET_FACTOR * len(text) + 100_000
    pos = 0
    while budget > 0:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            return
        start = min(starts)
        end = balanced_end(text, start)
        budget -= (end if end is not None else len(text)) - start
        if end is not None:
            yield text[start:end]
        pos = start + 1


SCAN_BUDGET_FACTOR = 8


def parse_balanced(text: str) -> Extracted | None:
    for candidate in scan_balanced(text):
        try:
            return Extracted(loads(candidate), "balanced")
        except ValueError:
            continue
    return None


Extractor = Callable[[str], "Extracted | None"]

DEFAULT_CHAIN: tuple[Extractor, ...] = (parse_direct, parse_fenced, parse_balanced)


def strip_reasoning(text: str) -> str:
    """Drop ``<think>...</think>`` (also ``thinking``/``reasoning``) blocks that reasoning models
    put before their answer, so braces inside them are not taken for the answer."""
    if "</" not in text:
        return text
    # Linear: each tag's closing search runs once past the last block it found; an opener
    # without a closer means no later opener of that tag has one either.
    out: list[str] = []
    pos = search = 0
    dead: set[str] = set()
    while (match := _REASONING_OPEN.search(text, search)) is not None:
        tag = match.group(1).lower()
        if tag in dead:
            search = match.start() + 1
            continue
        close = _REASONING_CLOSE[tag].search(text, match.end())
        if close is None:
            dead.add(tag)
            search = match.start() + 1
            continue
        out.append(text[pos : match.start()])
        pos = search = close.end()
    out.append(text[pos:])
    return "".join(out)


def extract_json(text: str, chain: tuple[Extractor, ...] = DEFAULT_CHAIN) -> Extracted | None:
    """Run the extraction chain on ``text`` without reasoning blocks; ``None`` when no JSON could
    be found."""
    text = strip_reasoning(text)
    for extractor in chain:
        found = extractor(text)
        if found is not None:
            return found
    return None
