"""The tolerant rules on a streaming prefix (instructor_py/pipeline/tolerant/prefix.py): the
value the text ends in is never coerced before more text settles it."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.pipeline.tolerant import ParseFailure, ParseResult, parse_partial
from tests.pipeline.helpers import INT, STR, obj

SCHEMA = {
    "type": "object",
    "properties": {
        "name": STR,
        "age": INT,
        "status": {"enum": ["TODO", "IN_PROGRESS"]},
        "ids": {"type": "array", "items": INT},
        "nick": {"anyOf": [STR, {"type": "null"}]},
    },
    "required": ["name", "age"],
}


def value(text: str, schema: Any = SCHEMA) -> Any:
    result = parse_partial(text, schema)
    assert isinstance(result, ParseResult), f"refused: {result}"
    return result.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a quoted string where the schema takes a string grows as it streams
        ('{"name": "Jo', {"name": "Jo"}),
        ("{'name': 'Jo", {"name": "Jo"}),
        ('{"name": "Jo", "nick": "J', {"name": "Jo", "nick": "J"}),
        # a number still being written, or one a grouping comma could extend: not yet
        ('{"name": "Jo", "age": 12', {"name": "Jo"}),
        ('{"name": "Jo", "age": 12 ', {"name": "Jo"}),
        ('{"name": "Jo", "age": 12,', {"name": "Jo"}),
        ('{"name": "Jo", "age": 12,111', {"name": "Jo"}),
        ('{"name": "Jo", "age": 12,111\n', {"name": "Jo"}),
        (
            '{"name": "Jo", "age": 12,111, status: TODO}',
            {"name": "Jo", "age": 12111, "status": "TODO"},
        ),
        ('{"name": "Jo", "age": 12}', {"name": "Jo", "age": 12}),
        # an enum prefix, a bare word, a string for a number: only once settled
        ('{"name": "Jo", "status": "IN_PRO', {"name": "Jo"}),
        ('{"name": "Jo", status: in progress', {"name": "Jo"}),
        ('{"name": "Jo", status: in progress,', {"name": "Jo", "status": "IN_PROGRESS"}),
        ('{"name": "Jo", "age": "4', {"name": "Jo"}),
        ('{"name": "Jo", "age": "42",', {"name": "Jo", "age": 42}),
        ("{name: 'Jo', age: Tru", {"name": "Jo"}),
        # items: the last one only once a delimiter follows it
        ('{"name": "Jo", "ids": [1, 2', {"name": "Jo", "ids": [1]}),
        ('{"name": "Jo", "ids": [1, 2,', {"name": "Jo", "ids": [1, 2]}),
        ('{"name": "Jo", "ids": [1, 2, "3', {"name": "Jo", "ids": [1, 2]}),
        ('{"name": "Jo", "ids": [1, 2]', {"name": "Jo", "ids": [1, 2]}),
    ],
)
def test_the_value_a_prefix_ends_in_is_shown_only_when_settled(text: str, expected: Any) -> None:
    assert value(text) == expected


def test_a_bare_scalar_prefix_has_no_reading_yet() -> None:
    assert isinstance(parse_partial("12", INT), ParseFailure)
    assert isinstance(parse_partial("TO", {"enum": ["TODO", "TOP"]}), ParseFailure)


def test_every_prefix_of_a_messy_answer_agrees_with_the_final_reading() -> None:
    schema = obj(name=STR, age=INT, ids={"type": "array", "items": INT})
    text = "Sure:\n```json\n{name: 'Ann Lee', // the name\n age: 1,234, ids: [1, 2, 30,],}\n```"
    final = value(text, schema)
    assert final == {"name": "Ann Lee", "age": 1234, "ids": [1, 2, 30]}
    for cut in range(len(text) + 1):
        result = parse_partial(text[:cut], schema)
        if not isinstance(result, ParseResult):
            continue
        last = next(reversed(result.value), None)
        for key, got in result.value.items():
            if isinstance(got, str):
                # (the open string may hold a quote whose end the text does not settle yet)
                assert key == last or got == final[key], (cut, key, got)
            elif isinstance(got, list):
                assert got == final[key][: len(got)], (cut, key, got)
            else:
                assert got == final[key], (cut, key, got)


def test_no_prefix_of_a_corpus_answer_leaks_the_open_marker_or_raises() -> None:
    """Where the schema says nothing (unknown keys, ``{}``), an open value is left out too: a
    prefix of every corpus answer (every 5th length) reads to plain JSON values or a refusal."""
    import json
    from pathlib import Path

    corpus = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "messy_answers.jsonl"
    rows = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    checked = 0
    for row in rows:
        text = row["text"]
        for end in range(1, len(text) + 1, 5):
            result = parse_partial(text[:end], row["schema"])
            if isinstance(result, ParseResult):
                json.dumps(result.value)  # an Open left inside is not serialisable
                checked += 1
            else:
                assert isinstance(result, ParseFailure)
    assert checked > 1000
