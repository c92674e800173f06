"""Hostile schemas: no network from a $ref, no hang from a backtracking pattern, limits on size,
depth and enums. Each error is typed and says what to do."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from instructor_py import StructuredOutput, StructuredOutputRetryError
from instructor_py.common.errors import (
    InstructorError,
    InvalidSchemaError,
    PatternTimeoutError,
    RemoteReferenceError,
    SchemaLimitError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.schema.safe_regex import compile_pattern
from instructor_py.schema.safe_validator import safe_validator
from instructor_py.schema.safety import SchemaLimits, check_schema
from tests.support.servers import ScriptedServer
from tests.support.wire_formats import OPENAI

pytestmark = pytest.mark.timeout(60)

# --- "no socket opens": an audit hook that records every socket connect while armed ----------

_CONNECTS: list[Any] = []
_ARMED = threading.Event()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED.is_set() and event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        _CONNECTS.append((event, args[1:2]))


sys.addaudithook(_audit)


@pytest.fixture
def no_network() -> Iterator[list[Any]]:
    """Every socket connect / name lookup / urllib request made while the test body runs."""
    _CONNECTS.clear()
    _ARMED.set()
    try:
        yield _CONNECTS
    finally:
        _ARMED.clear()


def _remote(server: ScriptedServer) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"a": {"$ref": f"{server.url}/s.json"}, "b": {"type": "string"}},
        "required": ["a"],
    }


def test_the_audit_hook_sees_a_connect(scripted_server: ScriptedServer, no_network: list[Any]) -> None:
    """The check below could not fail if the hook saw nothing: prove it sees a real connect."""
    import socket

    with socket.create_connection(("127.0.0.1", scripted_server.port)):
        pass
    assert any(event == "socket.connect" for event, _ in no_network)


def test_remote_ref_is_refused_at_build_time_without_traffic(
    scripted_server: ScriptedServer, no_network: list[Any]
) -> None:
    schema = _remote(scripted_server)
    with pytest.raises(RemoteReferenceError, match=r"outside the schema.*\$defs") as info:
        StructuredOutput().with_(messages="x", response_model=schema)
    assert "/properties/a/$ref" in str(info.value)
    assert isinstance(info.value, InvalidSchemaError)
    assert no_network == []
    assert scripted_server.requests == []


def test_remote_ref_in_a_pydantic_model_is_refused(
    scripted_server: ScriptedServer, no_network: list[Any]
) -> None:
    class Evil(BaseModel):
        model_config = ConfigDict(json_schema_extra={"properties": {"x": {"$ref": f"{scripted_server.url}/x"}}})
        x: int

    with pytest.raises(RemoteReferenceError):
        StructuredOutput().with_(messages="x", response_model=Evil)
    assert no_network == [] and scripted_server.requests == []


@pytest.mark.parametrize(
    "ref", ["other.json", "other.json#/a", "file:///etc/passwd", "https://example.com/s.json#/x", "//host/s"]
)
def test_every_ref_outside_the_schema_is_refused(ref: str, no_network: list[Any]) -> None:
    schema = {"type": "object", "properties": {"a": {"allOf": [{"$ref": ref}]}}}
    with pytest.raises(RemoteReferenceError, match=ref.split("#")[0][:10]):
        check_schema(schema)
    assert no_network == []


def test_local_refs_anchors_and_embedded_ids_still_work(no_network: list[Any]) -> None:
    schema = {
        "$id": "https://example.com/root.json",
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/A"},
            "b": {"$ref": "#bee"},
            "c": {"$ref": "https://example.com/other.json"},
            "d": {"$ref": "other.json#/$defs/D"},
        },
        "$defs": {
            "A": {"type": "integer"},
            "B": {"$anchor": "bee", "type": "string"},
            "O": {"$id": "other.json", "type": "object", "$defs": {"D": {"type": "boolean"}}},
        },
        "required": ["a", "b", "c", "d"],
    }
    check_schema(schema)
    validator = safe_validator(schema)
    assert validator.is_valid({"a": 1, "b": "x", "c": {}, "d": True})
    assert not validator.is_valid({"a": "1", "b": "x", "c": {}, "d": True})
    assert not validator.is_valid({"a": 1, "b": "x", "c": {}, "d": "yes"})
    assert no_network == []


def test_the_validator_never_retrieves_even_when_the_check_is_bypassed(
    scripted_server: ScriptedServer, no_network: list[Any]
) -> None:
    validator = safe_validator(_remote(scripted_server))
    with pytest.raises(Exception) as info:  # jsonschema's own unresolvable-ref error
        list(validator.iter_errors({"a": 1}))
    assert "Unresolvable" in type(info.value).__name__ or "s.json" in str(info.value)
    assert no_network == [] and scripted_server.requests == []


def test_a_ref_inside_data_keywords_is_data_not_a_reference() -> None:
    check_schema({"type": "object", "const": {"$ref": "http://x/y"}, "examples": [{"$ref": "z"}]})
    check_schema({"type": "object", "properties": {"$ref": {"type": "string"}}})


def test_local_engine_constraints_refuse_remote_refs(scripted_server: ScriptedServer, no_network: list[Any]) -> None:
    from instructor_py.constraints.spec import ConstraintSpec

    with pytest.raises(RemoteReferenceError):
        ConstraintSpec.json_schema(_remote(scripted_server))
    with pytest.raises(RemoteReferenceError):
        ConstraintSpec.json_schema(json.dumps(_remote(scripted_server)))
    assert no_network == [] and scripted_server.requests == []


# --- patterns -------------------------------------------------------------------------------

EVIL = "^(a+)+$"
EVIL_INPUT = "a" * 40 + "!"


def test_backtracking_pattern_runs_in_linear_time_on_re2() -> None:
    compiled = compile_pattern(EVIL)
    assert compiled.engine == "re2"
    assert not compiled.search(EVIL_INPUT)
    assert not compiled.search("a" * 100_000 + "!")
    assert compiled.search("aaaa")


@pytest.mark.e2e
def test_backtracking_pattern_answer_fails_validation_quickly(scripted_server: ScriptedServer) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": EVIL}}, "required": ["s"]}
    scripted_server.script([OPENAI.answer({"s": EVIL_INPUT}, OutputMode.TOOLS), OPENAI.answer({"s": "aaa"}, OutputMode.TOOLS)])
    client = OPENAI.client(scripted_server).with_(messages="x", response_model=schema, max_retries=1)
    response = client.response()
    assert response.value == {"s": "aaa"}
    assert "does not match" in response.attempts[0].errors[0]


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"patternProperties": {EVIL: {"type": "integer"}}}, {EVIL_INPUT: "x"}),
        ({"patternProperties": {EVIL: True}, "additionalProperties": False}, {EVIL_INPUT: 1}),
        ({"patternProperties": {EVIL: True}, "unevaluatedProperties": False}, {EVIL_INPUT: 1}),
        ({"allOf": [{"patternProperties": {EVIL: True}}], "unevaluatedProperties": False}, {EVIL_INPUT: 1}),
    ],
)
def test_pattern_properties_keys_run_on_re2(schema: dict[str, Any], instance: dict[str, Any]) -> None:
    schema = {"type": "object", **schema}
    check_schema(schema)
    # Same verdict as jsonschema's own validator on an input where re finishes quickly ...
    short = {k.replace("a" * 40, "a" * 8): v for k, v in instance.items()}
    assert safe_validator(schema).is_valid(short) == Draft202012Validator(schema).is_valid(short)
    # ... and a verdict at once on the input that makes re backtrack for minutes
    assert safe_validator(schema).is_valid(instance) in (True, False)
    assert not safe_validator(schema).is_valid(instance) or "additionalProperties" not in schema


AGREE_CASES = [
    ({"properties": {"a": {}}, "patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False}, {"a": 1, "x1": 2}, True),
    ({"properties": {"a": {}}, "patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False}, {"a": 1, "y": 2}, False),
    ({"patternProperties": {"^x": {"type": "integer"}}}, {"x1": "s"}, False),
    ({"additionalProperties": {"type": "string"}}, {"q": 1}, False),
    ({"properties": {"a": {}}, "unevaluatedProperties": False}, {"a": 1, "b": 2}, False),
    ({"allOf": [{"properties": {"b": {}}}], "properties": {"a": {}}, "unevaluatedProperties": False}, {"a": 1, "b": 2}, True),
    ({"if": {"properties": {"k": {"const": 1}}}, "then": {"properties": {"t": {}}}, "else": {"properties": {"e": {}}}, "unevaluatedProperties": False}, {"k": 1, "t": 0}, True),
    ({"if": {"properties": {"k": {"const": 1}}}, "then": {"properties": {"t": {}}}, "else": {"properties": {"e": {}}}, "unevaluatedProperties": False}, {"k": 2, "t": 0}, False),
    ({"$defs": {"B": {"properties": {"b": {}}}}, "$ref": "#/$defs/B", "unevaluatedProperties": False}, {"b": 1}, True),
    ({"dependentSchemas": {"a": {"properties": {"d": {}}}}, "unevaluatedProperties": {"type": "integer"}}, {"a": "s", "d": "s"}, False),
    ({"properties": {"s": {"pattern": "^[a-z]+$"}}}, {"s": "abc"}, True),
    ({"properties": {"s": {"pattern": "[0-9]"}}}, {"s": "abc"}, False),
]


@pytest.mark.parametrize(("schema", "instance", "valid"), AGREE_CASES)
def test_safe_validator_agrees_with_jsonschema(schema: dict[str, Any], instance: Any, valid: bool) -> None:
    schema = {"type": "object", **schema}
    assert Draft202012Validator(schema).is_valid(instance) is valid  # the case says what it means
    assert safe_validator(schema).is_valid(instance) is valid
    if not valid:
        ours = sorted(e.message for e in safe_validator(schema).iter_errors(instance))
        theirs = sorted(e.message for e in Draft202012Validator(schema).iter_errors(instance))
        assert len(ours) == len(theirs)


def test_a_pattern_re2_cannot_run_runs_under_a_time_limit() -> None:
    slow = compile_pattern("^(a|aa)+(?<=c)$")  # lookbehind: not RE2
    assert slow.engine == "regex"
    assert compile_pattern("(?<=a)b").search("ab")
    with pytest.raises(PatternTimeoutError, match=r"took longer than .*\(RE2\)") as info:
        slow.search("a" * 60 + "!")
    assert isinstance(info.value, InstructorError)


@pytest.mark.e2e
def test_a_slow_fallback_pattern_ends_the_call_with_a_typed_error(scripted_server: ScriptedServer) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a|aa)+(?<=c)$"}}}
    scripted_server.script([OPENAI.answer({"s": "a" * 60 + "!"}, OutputMode.TOOLS)])
    with pytest.raises(PatternTimeoutError):
        OPENAI.client(scripted_server).with_(messages="x", response_model=schema, max_retries=0).get()


def test_invalid_and_oversized_patterns_are_refused_at_build_time() -> None:
    with pytest.raises(InvalidSchemaError, match="not a valid regular expression"):
        check_schema({"type": "object", "properties": {"s": {"pattern": "(unclosed"}}})
    with pytest.raises(InvalidSchemaError, match="limit"):
        check_schema({"type": "object", "properties": {"s": {"pattern": "a" * 20_000}}})
    with pytest.raises(InvalidSchemaError, match="not a valid"):
        check_schema({"type": "object", "patternProperties": {"[": {}}})


def test_pydantic_field_patterns_still_validate() -> None:
    class Code(BaseModel):
        code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")

    so = StructuredOutput().with_(messages="x", response_model=Code)
    assert so.response_model is not None
    assert so.response_model.schema_validator.is_valid({"code": "ABC-12"})
    assert not so.response_model.schema_validator.is_valid({"code": "abc-12"})


# --- limits ---------------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def test_ten_thousand_levels_is_a_typed_error_not_a_recursion_error() -> None:
    deep = _nested(5_000)  # 10,000 JSON levels
    with pytest.raises(SchemaLimitError, match="deeper than 128"):
        StructuredOutput().with_(messages="x", response_model=deep)
    from instructor_py.constraints.spec import ConstraintSpec

    with pytest.raises(SchemaLimitError):
        ConstraintSpec.json_schema(deep)
    text = '{"type": "object", "properties": {"x": ' * 10_000 + "{}" + "}}" * 10_000
    with pytest.raises(InvalidSchemaError):
        ConstraintSpec.json_schema(text)


def test_a_schema_inside_the_limits_works_end_to_end() -> None:
    schema = _nested(60)  # 120 JSON levels: under the default depth limit
    so = StructuredOutput().with_(messages="x", response_model=schema)
    assert so.response_model is not None
    value: Any = "leaf"
    for _ in range(60):
        value = {"x": value}
    assert so.response_model.schema_validator.is_valid(value)


def test_enum_and_size_limits() -> None:
    big_enum = {"type": "object", "properties": {"e": {"enum": list(range(10_001))}}}
    with pytest.raises(SchemaLimitError, match=r"enum of 10001 values at /properties/e"):
        check_schema(big_enum)
    check_schema({"type": "object", "properties": {"e": {"enum": list(range(10_000))}}})
    wide = {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(60_000)}}
    with pytest.raises(SchemaLimitError, match="more than 50000 values"):
        check_schema(wide)
    check_schema(wide, limits=SchemaLimits(max_nodes=200_000))
    with pytest.raises(SchemaLimitError, match="deeper than 3"):
        check_schema(_nested(2), limits=SchemaLimits(max_depth=3))


def test_the_limit_errors_reach_the_user_through_the_builder() -> None:
    with pytest.raises(SchemaLimitError) as info:
        StructuredOutput().with_(messages="x", response_model={"type": "object", "properties": {"e": {"enum": [0] * 20_000}}})
    assert "SchemaLimits.max_enum" in str(info.value)


def test_hostile_answer_to_a_valid_schema_fails_validation_not_the_process() -> None:
    """A 10,000-level answer to an ordinary schema is a failed attempt, never a RecursionError."""
    from tests.support.scripted_provider import ScriptedProvider, tool

    class Item(BaseModel):
        name: str

    deep = "[" * 10_000 + "]" * 10_000
    provider = ScriptedProvider([tool(f'{{"name": {deep}}}'), tool('{"name": "ok"}')])
    value = StructuredOutput().with_provider(provider).with_(messages="x", response_model=Item, max_retries=1).get()
    assert value == Item(name="ok")
    with pytest.raises(StructuredOutputRetryError):
        StructuredOutput().with_provider(ScriptedProvider([tool(deep)])).with_(messages="x", response_model=Item, max_retries=0).get()


# --- references that would recurse forever, or point to nothing -------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "$defs": {"A": {"$ref": "#/$defs/A"}}, "properties": {"a": {"$ref": "#/$defs/A"}}},
        {"type": "object", "$defs": {"A": {"allOf": [{"$ref": "#/$defs/B"}]}, "B": {"anyOf": [{"$ref": "#/$defs/A"}]}}},
        {"type": "object", "$defs": {"A": {"not": {"$ref": "#/$defs/A"}}}},
        {"type": "object", "allOf": [{"$ref": "#"}]},
        {"type": "object", "$defs": {"A": {"$anchor": "a", "if": {"$ref": "#a"}}}},
    ],
    ids=["self", "mutual-through-allOf-anyOf", "not", "root", "anchor"],
)
def test_a_reference_cycle_that_never_reaches_a_value_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidSchemaError, match="cycle of references"):
        StructuredOutput().with_(messages="x", response_model=schema)


def test_recursion_through_properties_or_items_is_fine() -> None:
    schema = {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}},
        "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
    }
    so = StructuredOutput().with_(messages="x", response_model=schema)
    assert so.response_model is not None
    assert so.response_model.schema_validator.is_valid({"tree": {"kids": [{"kids": []}]}})


@pytest.mark.parametrize("ref", ["#/$defs/missing", "#nope", "#/properties/zz"])
def test_a_reference_to_nothing_is_refused_at_build_time(ref: str) -> None:
    with pytest.raises(InvalidSchemaError, match="points to nothing"):
        check_schema({"type": "object", "properties": {"a": {"$ref": ref}}})


def test_a_deep_answer_to_a_recursive_schema_is_a_failed_attempt_not_a_recursion_error() -> None:
    from tests.support.scripted_provider import ScriptedProvider, tool

    schema = {"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}}, "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}
    deep = "[" * 300 + "]" * 300
    ok = "[" * 100 + "]" * 100
    provider = ScriptedProvider([tool(f'{{"n": {deep}}}'), tool(f'{{"n": {ok}}}')])
    response = StructuredOutput().with_provider(provider).with_(messages="x", response_model=schema, max_retries=1).response()
    assert "nests 301 levels deep" in response.attempts[0].errors[0]
    assert response.value["n"] == json.loads(ok)
