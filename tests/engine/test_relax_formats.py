"""`relax_schema` (the relaxed tier's schema) and the exact format regexes of `format_regex`."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import jsonschema
import pytest

from instructor_py.engine.format_regex import DATE, DATE_TIME, TIME, UUID, replace_formats
from instructor_py.engine.relax import relax_schema
from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo
from tests.support.masks import accepts_text

pytest.importorskip("llguidance", reason="llguidance is not installed")


def _valid(schema: Any, value: Any) -> bool:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=jsonschema.FormatChecker()).is_valid(value)


# --- relax_schema -----------------------------------------------------------------------------

RESTRICTIVE = {
    "type": "object",
    "minProperties": 2,
    "maxProperties": 2,
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "n": {"type": "integer", "not": {"const": 3}},
        "kind": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
        "when": {"type": "string", "format": "no-such-format"},
        "day": {"type": "string", "format": "date"},
    },
    "dependencies": {"n": ["tags"]},
    "if": {"required": ["n"]},
    "then": {"required": ["kind"]},
    "propertyNames": {"maxLength": 4},
    "additionalProperties": False,
}


def test_relax_schema_drops_only_pure_assertions() -> None:
    loose = relax_schema(RESTRICTIVE)
    for key in ("minProperties", "maxProperties", "dependencies", "if", "then", "propertyNames"):
        assert key not in loose
    props = loose["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["n"] == {"type": "integer"}
    assert props["kind"] == {"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}
    assert props["when"] == {"type": "string"}  # unknown format dropped
    assert props["day"] == {"type": "string", "format": "date"}  # known format kept
    assert loose["additionalProperties"] is False  # depends on properties: kept
    assert RESTRICTIVE["minProperties"] == 2  # the input is not mutated


@pytest.mark.parametrize(
    "value",
    [
        {"tags": ["a"], "n": 1},
        {"tags": ["a", "a"], "n": 3},  # invalid: uniqueItems, not, dependencies ok
        {"kind": 1, "day": "2020-02-29"},
        {"kind": 1.5, "when": "x"},
        {"kind": 2},  # invalid: oneOf matches both branches; relaxed accepts it
        {"other": 1},  # invalid: additionalProperties false, in both
        {"tags": [], "n": 1, "kind": 1},  # invalid: maxProperties
    ],
)
def test_relaxed_schema_accepts_every_instance_the_schema_accepts(value: Any) -> None:
    loose = relax_schema(RESTRICTIVE)
    if _valid(RESTRICTIVE, value):
        assert _valid(loose, value)
    assert _valid(loose, value) == ("other" not in value)


def test_relax_schema_drops_unevaluated_keywords_with_the_annotations_they_read() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "properties": {"a": {"type": "integer"}},
        "if": {"required": ["a"]},
        "then": {"properties": {"b": {"type": "integer"}}},
        "unevaluatedProperties": False,
    }
    value = {"a": 1, "b": 2}  # b is evaluated by "then"
    assert _valid(schema, value)
    without_then = {k: v for k, v in schema.items() if k not in ("if", "then")}
    assert not _valid(without_then, value)  # why unevaluatedProperties must go as well
    loose = relax_schema(schema)
    assert "unevaluatedProperties" not in loose
    assert _valid(loose, value)


def test_relax_schema_renames_pointers_into_one_of() -> None:
    schema = {
        "$defs": {"u": {"oneOf": [{"type": "string"}, {"type": "null"}]}},
        "properties": {"oneOf": {"$ref": "#/$defs/u/oneOf/0"}, "b": {"$ref": "#/properties/oneOf"}},
    }
    loose = relax_schema(schema)
    assert loose["$defs"]["u"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert loose["properties"]["oneOf"] == {"$ref": "#/$defs/u/anyOf/0"}
    assert loose["properties"]["b"] == {"$ref": "#/properties/oneOf"}  # a property's name


def test_relax_schema_with_both_any_of_and_one_of_intersects_them() -> None:
    loose = relax_schema({"anyOf": [{"type": "string"}], "oneOf": [{"minLength": 1}]})
    assert loose == {"allOf": [{"anyOf": [{"type": "string"}]}, {"anyOf": [{"minLength": 1}]}]}


def test_relaxed_tier_never_blocks_valid_output(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    # llguidance's own lenient mode wanted a third property here (MaskBench settings.job)
    schema = {
        "type": "object",
        "minProperties": 1,
        "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
    }
    handle = orch.compile_json_schema(schema)
    assert not handle.exact and handle.relaxed_reason is not None
    assert "without the keywords" in handle.relaxed_reason
    for text in ('{"a":60,"b":true}', '{"a":1}', '{"b":false}'):
        assert accepts_text(handle.fresh().matcher, tok, text), text
    assert not accepts_text(handle.fresh().matcher, tok, '{"a":"x"}')  # the rest still holds
    overlapping = {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}
    one_of = orch.compile_json_schema(overlapping)
    assert not one_of.exact
    assert accepts_text(one_of.matcher, tok, "-1")
    assert accepts_text(one_of.fresh().matcher, tok, "1.5")
    assert not accepts_text(one_of.fresh().matcher, tok, "true")


# --- format regexes ---------------------------------------------------------------------------

YEARS = ["0000", "0001", "0004", "0100", "0400", "1900", "1999", "2000", "2023", "2024", "2100"]


def _python_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_date_regex_agrees_with_python_on_every_day_of_sample_years() -> None:
    date = re.compile(DATE)
    checked = 0
    for year in [*YEARS, "9996", "9999"]:
        for month in range(14):
            for day in range(33):
                text = f"{year}-{month:02d}-{day:02d}"
                assert bool(date.fullmatch(text)) == _python_date(text), text
                checked += 1
    assert checked == 13 * 14 * 33
    for bad in ("२०२१-01-01", "2021-1-01", "20210101", "2021-01-01 "):
        assert not date.fullmatch(bad)


TIMES = [
    ("00:00:00Z", True),
    ("23:59:60Z", True),
    ("23:59:59.123456+05:30", True),
    ("12:00:00z", True),
    ("12:00:00-23:59", True),
    ("24:00:00Z", False),
    ("12:60:00Z", False),
    ("12:00:61Z", False),
    ("12:00:00", False),
    ("12:00:00+24:00", False),
    ("12:00:00+05:60", False),
    ("12:00:00.Z", False),
    ("१२:00:00Z", False),
]


@pytest.mark.parametrize(("text", "ok"), TIMES)
def test_time_regex_is_rfc3339_full_time(text: str, ok: bool) -> None:
    assert bool(re.fullmatch(TIME, text)) == ok
    assert bool(re.fullmatch(DATE_TIME, f"2024-02-29T{text}")) == ok
    assert not re.fullmatch(DATE_TIME, f"2023-02-29T{text}")


def test_uuid_regex_accepts_the_canonical_form_in_either_case_only() -> None:
    for text, ours in (
        ("123e4567-e89b-12d3-a456-426614174000", True),
        ("123E4567-E89B-12D3-A456-426614174000", True),
        ("123e4567e89b12d3a456426614174000", False),
        ("123e4567-e89b-12d3-a456-42661417400g", False),
        ("{123e4567-e89b-12d3-a456-426614174000}", False),
    ):
        assert bool(re.fullmatch(UUID, text)) == ours, text
        if ours:  # what it accepts, jsonschema accepts
            assert _valid({"format": "uuid"}, text), text


def test_replace_formats_rewrites_schemas_not_data() -> None:
    schema = {
        "properties": {
            "format": {"type": "string", "format": "date"},
            "p": {"type": "string", "pattern": "^2", "format": "date"},
            "e": {"enum": [{"format": "date"}]},
        },
        "$defs": {"x": {"format": "date-time"}},
        "default": {"format": "date"},
    }
    out = replace_formats(schema, {"date": "D", "date-time": "DT"})
    assert out["properties"]["format"] == {"type": "string", "pattern": "^D$"}
    assert out["properties"]["p"] == {
        "type": "string",
        "pattern": "^2",
        "allOf": [{"pattern": "^D$"}],
    }
    assert out["properties"]["e"] == {"enum": [{"format": "date"}]}
    assert out["$defs"]["x"] == {"pattern": "^DT$"}
    assert out["default"] == {"format": "date"}
    same = {"type": "string", "format": "email"}
    assert replace_formats(same, {"date": "D"}) is same


def test_llguidance_handles_reject_leap_day_of_common_years(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    for fmt, good, bad in (
        ("date", "2024-02-29", "2023-02-29"),
        ("date", "2000-02-29", "2100-02-29"),
        ("date", "0001-01-01", "0000-01-01"),
        ("date-time", "2024-02-29T10:00:00Z", "2023-02-29T10:00:00Z"),
    ):
        handle = orch.compile_json_schema({"type": "string", "format": fmt})
        assert handle.exact and handle.backend == "llguidance"
        assert accepts_text(handle.fresh().matcher, tok, json.dumps(good)), good
        assert not accepts_text(handle.fresh().matcher, tok, json.dumps(bad)), bad


def test_relaxed_tier_drops_patterns_the_backend_cannot_compile(
    orch: StructuredOutputOrchestrator, tok: TokenizerInfo
) -> None:
    schema = {
        "type": "object",
        "properties": {"p": {"type": "string", "pattern": "^(?!x)[a-z]+$"}},  # a lookahead
        "required": ["p"],
        "additionalProperties": False,
    }
    assert relax_schema(schema, drop_patterns=True)["properties"]["p"] == {"type": "string"}
    handle = orch.compile_json_schema(schema)
    assert not handle.exact and handle.relaxed_reason is not None
    assert "every pattern" in handle.relaxed_reason
    assert accepts_text(handle.fresh().matcher, tok, '{"p":"abc"}')
    assert not accepts_text(handle.fresh().matcher, tok, '{"p":1}')  # the rest still holds
    assert not accepts_text(handle.fresh().matcher, tok, "{}")
