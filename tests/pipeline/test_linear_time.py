"""The tolerant parser reads in time linear in the answer's length (issue 23), on realistic messy
answers and on the worst shapes for a forgiving reader: deep nesting, many candidate values, a
long unterminated string, many fences, quotes that may or may not close a string.

A 64 KB answer (32 times the text) must take less than 48 times as long as a 2 KB one: a reader
that went back over the text would take hundreds of times longer, while a bigger tree alone
costs a little more per KB (cache misses: ``json``'s own C decoder takes 37 times as long on the
nested shape here). Each time is the best of several runs in CPU time, so other work on a loaded
machine does not make the test flaky.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from instructor_py.pipeline.tolerant import ParseFailure, ParseResult, parse_tolerant

SMALL, LARGE = 2 * 1024, 64 * 1024
BOUND = 48

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "active": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "active", "tags"],
}
PEOPLE = {
    "type": "object",
    "properties": {"people": {"type": "array", "items": PERSON}},
    "required": ["people"],
}
ONE_STRING = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
ANY: dict[str, Any] = {}


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head`` + ``unit`` as many times as fit in about ``size`` characters + ``tail``."""
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def messy_people(size: int) -> str:
    unit = "  {name: 'Ann Lee', age: 31, active: True, tags: ['a', 'b',],},\n"
    return _repeat(unit, size, "Sure! Here it is:\n```json\n{people: [\n", "]}\n```\nHope it helps.")


def nested_lists(size: int) -> str:
    """Lists 100 deep (the reader's limit is 128), one after the other."""
    return _repeat("[" * 100 + "1" + "]" * 100 + ",", size, "[", "0]")


def too_deep(size: int) -> str:
    return "[" * (size // 2) + "]" * (size // 2)


def many_candidates(size: int) -> str:
    return _repeat("see {a: 'x'} and ", size)


def unterminated_string(size: int) -> str:
    return _repeat("x", size, '{"a": "')


def many_fences(size: int) -> str:
    return _repeat('```json\n{"a": "x"}\n```\n', size)


def open_quotes(size: int) -> str:
    """Every quote may close the string or be part of it (decided by what follows)."""
    return _repeat('", "', size, '{"a": "')


def open_brackets(size: int) -> str:
    return _repeat("[{", size)


SHAPES: dict[str, tuple[Callable[[int], str], Any]] = {
    "messy objects": (messy_people, PEOPLE),
    "deep nesting": (nested_lists, ANY),
    "nesting past the limit": (too_deep, ANY),
    "many candidates": (many_candidates, ONE_STRING),
    "a long unterminated string": (unterminated_string, ONE_STRING),
    "many fences": (many_fences, ONE_STRING),
    "quotes that may close a string": (open_quotes, ONE_STRING),
    "unclosed brackets": (open_brackets, ONE_STRING),
}


def best_seconds(fn: Callable[[], object], calls: int, runs: int) -> float:
    """CPU seconds per call: the best of ``runs`` timings of ``calls`` calls, with Python's
    cyclic garbage collector paused (its passes over every live object come at times of its
    own choosing: they measure the collector, not the reading)."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.process_time()
            for _ in range(calls):
                fn()
            best = min(best, (time.process_time() - start) / calls)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("shape", list(SHAPES))
def test_reading_time_is_linear_in_the_answer_length(shape: str) -> None:
    make, schema = SHAPES[shape]
    small, large = make(SMALL), make(LARGE)
    assert 0.9 * SMALL <= len(small) <= 1.1 * SMALL and 0.9 * LARGE <= len(large) <= 1.1 * LARGE
    parse_tolerant(large, schema)  # (warm: the first call pays for compiling the patterns)
    small_s = best_seconds(lambda: parse_tolerant(small, schema), calls=10, runs=5)
    large_s = best_seconds(lambda: parse_tolerant(large, schema), calls=1, runs=5)
    ratio = large_s / small_s
    growth = len(large) / len(small)
    assert ratio < BOUND, (
        f"{shape}: {len(large)} chars took {ratio:.1f}x the time of {len(small)} chars "
        f"({growth:.0f}x the text): not linear ({small_s * 1e3:.2f} ms -> {large_s * 1e3:.2f} ms)"
    )


def test_the_timed_answers_are_read_for_real() -> None:
    """The timings above are of real readings, not of quick refusals."""
    text = messy_people(LARGE)
    people = parse_tolerant(text, PEOPLE)
    assert isinstance(people, ParseResult)
    assert people.value["people"][0] == {"name": "Ann Lee", "age": 31, "active": True, "tags": ["a", "b"]}
    assert len(people.value["people"]) == text.count("name:") > 1000
    nested = parse_tolerant(nested_lists(LARGE), ANY)
    assert isinstance(nested, ParseResult)
    assert json.dumps(nested.value).count("1") == len(nested.value) - 1
    assert isinstance(parse_tolerant(many_candidates(LARGE), ONE_STRING), ParseResult)
    assert isinstance(parse_tolerant(many_fences(LARGE), ONE_STRING), ParseResult)
    assert isinstance(parse_tolerant(unterminated_string(LARGE), ONE_STRING), ParseFailure)
