"""The reader's fast path (``tokens.FAST_MEMBER`` / ``FAST_ITEM``: a plain member or item in one
match) reads exactly what the general rules read: the same value, the same repairs in the same
order, the same refusals. Checked on the messy-answer corpus, on every quarter of each answer
(streaming prefixes), and on hand-made edges where the fast path must step aside: with the fast
patterns replaced by one that never matches, the reader runs on the general rules alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from instructor_py.pipeline.tolerant import (
    ParseResult,
    parse_partial,
    parse_tolerant,
    syntax,
    tokens,
)

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "messy_answers.jsonl"
NEVER = re.compile(r"(?!)")

EDGES = [
    # a comment after a value, a key phrase, = for :, a quote that does not close, escapes
    ('{a: "x" // note\n, b: 2}', {}),
    ('{"a": "x", "b": 1 /* c */, c: 3}', {}),
    ("{first name: 'Ann', age = 31}", {}),
    ('{"a": "say "hi" now", "b": 1}', {}),
    ('{"a": "line\\nbreak", "b": "\\u00e9"}', {}),
    ('{"a": "x" "b": "y"}', {}),
    ("{'a': 'it's', 'b': 'ok'}", {}),
    # numbers: grouped thousands in objects, not in arrays; signs, exponents, NaN
    ('{"a": 12,111, "b": 1}', {"type": "object", "properties": {"a": {"type": "integer"}}}),
    ("[12,111, 3]", {}),
    ('{"a": -0.5e3, "b": +1, "c": NaN, "d": -Infinity}', {}),
    # literals: JSON, Python, JavaScript, and a word that only starts like one
    ("{a: True, b: None, c: false, d: undefined, e: Nonesuch, f: True\r\n}", {}),
    ("[True, None, null, true\t, False  ]", {}),
    # duplicate keys, missing commas, trailing and stray commas, nesting, a cut-off end
    ('{"a": 1, "a": 1, "b": 2, "b": 3}', {}),
    ('{"a": 1 "b": [1 2 {"c": 3}] "d": {}}', {}),
    ('{"a": [1, 2,], , "b": {"c": "d",},}', {}),
    ('{"a": {"b": {"c": [1, {"d": "e"', {}),
    ('["a", "b', {}),
    # whitespace the reader skips, and quotes a plain key lookahead does not cover
    ('{\u00a0"a"\u00a0:\u00a0"x",\ufeff"b": 1}', {}),
    ('{"a": "x", \u201cb\u201d: 1}', {}),
    ('{"a": `x`, "b": \u2018y\u2019}', {}),
]


def outcome(result: Any) -> tuple[Any, ...]:
    if isinstance(result, ParseResult):
        return ("read", json.dumps(result.value, sort_keys=True, default=repr), result.repairs, result.source)
    return ("refused", result.kind, result.path, result.message, repr(result.best_effort))


def cases() -> list[tuple[str, Any]]:
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    return [(row["text"], row["schema"]) for row in rows] + EDGES


def reading(parse: Callable[[str, Any], Any], text: str, schema: Any) -> tuple[Any, ...]:
    try:
        return outcome(parse(text, schema))
    except Exception as exc:  # (compared like any outcome: both paths must fail alike)
        return ("raised", type(exc).__name__, str(exc))


def readings(text: str, schema: Any) -> list[tuple[Any, ...]]:
    prefixes = sorted({len(text) * k // 4 for k in (1, 2, 3)})
    return [reading(parse_tolerant, text, schema)] + [
        reading(parse_partial, text[:cut], schema) for cut in prefixes
    ]


class Counting:
    """A pattern that counts its matches (so the comparison below is not of two general runs)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.matched = 0

    def match(self, text: str, pos: int, end: int) -> re.Match[str] | None:
        found = self.pattern.match(text, pos, end)
        self.matched += found is not None
        return found


def test_the_fast_path_reads_as_the_general_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    all_cases = cases()
    members, items = Counting(tokens.FAST_MEMBER), Counting(tokens.FAST_ITEM)
    monkeypatch.setattr(syntax, "FAST_MEMBER", members)
    monkeypatch.setattr(syntax, "FAST_ITEM", items)
    fast = [readings(text, schema) for text, schema in all_cases]
    assert members.matched > 1000 and items.matched > 150  # the fast path read most of it
    monkeypatch.setattr(syntax, "FAST_MEMBER", NEVER)
    monkeypatch.setattr(syntax, "FAST_ITEM", NEVER)
    general = [readings(text, schema) for text, schema in all_cases]
    differ = [all_cases[i][0][:80] for i in range(len(all_cases)) if fast[i] != general[i]]
    assert not differ, f"{len(differ)} answers read differently, e.g. {differ[:3]}"
