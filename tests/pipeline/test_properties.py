"""Strict JSON reads unchanged (hypothesis), and reading stays linear on hostile input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instructor_py.pipeline.tolerant import ParseResult, parse_partial, parse_tolerant

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**18), max_value=10**18)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


def schema_of(value: Any) -> dict[str, Any]:
    """The tightest schema of ``value`` (every object key required)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if value is None:
        return {"type": "null"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": {"anyOf": [schema_of(v) for v in value]} if value else {}}
    return {
        "type": "object",
        "properties": {k: schema_of(v) for k, v in value.items()},
        "required": list(value),
    }


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 2]))
def test_strict_json_reads_unchanged_with_no_repairs(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    for schema in ({}, schema_of(value)):
        result = parse_tolerant(text, schema)
        assert isinstance(result, ParseResult), result
        assert result.repairs == ()
        assert json.dumps(result.value) == json.dumps(value)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_fenced_strict_json_reads_unchanged(value: Any) -> None:
    text = "Here you go:\n```json\n" + json.dumps(value) + "\n```\nDone."
    result = parse_tolerant(text, schema_of(value))
    if isinstance(value, dict | list):
        assert isinstance(result, ParseResult), result
        assert json.dumps(result.value) == json.dumps(value)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES, st.data())
def test_every_prefix_is_read_without_error(value: Any, data: st.DataObject) -> None:
    text = json.dumps(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    parse_partial(text[:cut], {})  # never raises


def test_partial_reads_an_unfinished_object() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "tags"],
    }
    result = parse_partial('{"name": "Ann", "tags": ["a", "b', schema)
    assert isinstance(result, ParseResult)
    assert result.value == {"name": "Ann", "tags": ["a", "b"]}
    assert all(not r.kind.startswith("truncated") for r in result.repairs)


HOSTILE = [
    "[" * 100_000,
    "{" * 100_000,
    '{"a":' * 50_000,
    "[{" * 50_000,
    '"' * 100_000,
    "{'" * 50_000,
    "```json\n{" * 10_000,
    ("{a: [1, 'x', {b: " * 3_000) + ("}]" * 3_000),
    "{" + "a" * 100_000,
    "1,2" * 30_000,
    '{"k": "' + 'x", "' * 20_000,
    "/*" * 50_000,
    "<think>" * 10_000 + "{}",
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("junk", HOSTILE, ids=lambda s: repr(s[:12]))
def test_hostile_input_of_100_kb_finishes(junk: str) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "array"}]}},
        "required": ["a"],
    }
    parse_tolerant(junk, schema)
    parse_partial(junk, schema)
    parse_tolerant(junk, {"enum": ["A", "B"]})


def test_partial_leaves_out_an_unfinished_last_value_that_does_not_fit_yet() -> None:
    schema = {
        "type": "object",
        "properties": {
            "status": {"enum": ["TODO", "IN_PROGRESS"]},
            "ids": {"type": "array", "items": {"type": "integer"}},
            "name": {"type": "string"},
        },
        "required": ["status", "ids", "name"],
    }
    result = parse_partial('{"name": "x", "status": "IN_PRO', schema)
    assert isinstance(result, ParseResult)
    assert result.value == {"name": "x"}
    result = parse_partial('{"name": "x", "ids": [1, 2, "3', schema)
    assert isinstance(result, ParseResult)
    assert result.value == {"name": "x", "ids": [1, 2]}  # "3 could still become "34"
    result = parse_partial('{"name": "x", "ids": [1, 2, "3",', schema)
    assert isinstance(result, ParseResult)
    assert result.value == {"name": "x", "ids": [1, 2, 3]}
    assert not isinstance(parse_tolerant('{"name": "x", "status": "IN_PRO"}', schema), ParseResult)
