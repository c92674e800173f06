from __future__ import annotations

import dataclasses
import json

import pytest

from instructor_py.common.errors import ConstraintCompileError, InvalidSchemaError
from instructor_py.local import ConstraintSpec

SCHEMA = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}


def test_json_schema_from_dict_and_text_share_a_key() -> None:
    a = ConstraintSpec.json_schema(SCHEMA)
    b = ConstraintSpec.json_schema(json.dumps(SCHEMA, indent=2))
    assert a == b and a.to_cache_key() == b.to_cache_key()
    assert a.schema == SCHEMA
    # property order is kept: it is the order the model generates them in
    assert list(a.schema["properties"]) == ["b", "a"]


def test_cache_key_depends_on_kind_text_and_options() -> None:
    keys = {
        ConstraintSpec.json_schema(SCHEMA).to_cache_key(),
        ConstraintSpec.json_schema(SCHEMA, whitespace="flexible").to_cache_key(),
        ConstraintSpec.json_schema(SCHEMA).with_options(max_nesting=3).to_cache_key(),
        ConstraintSpec.regex("[a-z]+").to_cache_key(),
        ConstraintSpec.grammar('start: "a"', "lark").to_cache_key(),
        ConstraintSpec.grammar('root ::= "a"', "gbnf").to_cache_key(),
        ConstraintSpec.choice(["a", "b"]).to_cache_key(),
    }
    assert len(keys) == 7


def test_spec_is_frozen() -> None:
    spec = ConstraintSpec.regex("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.text = "b"  # type: ignore[misc]


def test_invalid_schema_names_the_place() -> None:
    with pytest.raises(InvalidSchemaError, match=r"properties/a.*'objekt'"):
        ConstraintSpec.json_schema({"type": "object", "properties": {"a": {"type": "objekt"}}})
    with pytest.raises(InvalidSchemaError, match="line 1 column"):
        ConstraintSpec.json_schema("{not json")
    with pytest.raises(InvalidSchemaError, match="accepts no value"):
        ConstraintSpec.json_schema(False)
    assert ConstraintSpec.json_schema(True) == ConstraintSpec.json_schema({})
    with pytest.raises(InvalidSchemaError, match="must be"):
        ConstraintSpec.json_schema(42)  # type: ignore[arg-type]


def test_choice_and_grammar_argument_errors() -> None:
    with pytest.raises(ConstraintCompileError, match="empty"):
        ConstraintSpec.choice([])
    with pytest.raises(ConstraintCompileError, match="index"):
        ConstraintSpec.choice(["ok", ""])
    with pytest.raises(ConstraintCompileError, match=r"unsupported syntax 'ebnf'.*lark, gbnf"):
        ConstraintSpec.grammar("x", "ebnf")
    with pytest.raises(ConstraintCompileError, match="whitespace"):
        ConstraintSpec.json_schema(SCHEMA, whitespace="lots")  # type: ignore[arg-type]


def test_choice_deduplicates_and_keeps_order() -> None:
    assert ConstraintSpec.choice(["b", "a", "b"]).choices == ["b", "a"]


def test_describe_is_short() -> None:
    long = ConstraintSpec.regex("a" * 500)
    assert len(long.describe()) < 90
