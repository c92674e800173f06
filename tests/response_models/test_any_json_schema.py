"""Any JSON schema as a response model (scalars, arrays, enums, ``const``, unions, maps, root
``$ref``s, recursion), end to end: TOOLS and JSON modes against the scripted loopback server (the
wrapper object on the wire, the bare value for the caller), and GRAMMAR mode on the embedded
model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from instructor_py import StructuredOutput
from instructor_py.common.errors import InvalidSchemaError
from instructor_py.common.modes import OutputMode
from tests.support.servers import ScriptedServer
from tests.support.smollm2 import needs_model
from tests.support.wire_formats import OPENAI

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "v": {"type": "integer"},
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["v"],
        }
    },
    "$ref": "#/$defs/node",
}
# (name, schema, a valid value, an invalid value)
KINDS: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("string", {"type": "string", "maxLength": 5}, "hi", "toolong"),
    ("integer", {"type": "integer", "minimum": 0}, 7, -1),
    ("boolean", {"type": "boolean"}, True, [1, 2]),
    ("array", {"type": "array", "items": {"type": "number"}, "minItems": 1}, [1.5, 2], []),
    ("enum", {"enum": ["red", "green"]}, "green", "blue"),
    ("const", {"const": 42}, 42, 41),
    ("anyOf", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, None, "x"),
    (
        "oneOf",
        {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
        [1],
        "x",
    ),
    ("map", {"type": "object", "additionalProperties": {"type": "integer"}}, {"a": 1}, {"a": "x"}),
    ("root-ref", TREE, {"v": 1, "kids": [{"v": 2}]}, {"v": 1, "kids": [{"v": "x"}]}),
    (
        "recursive-root",
        {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"$ref": "#"}]}},
        [1, [2, [3]]],
        [1, ["x"]],
    ),
]


def _wire_value(server: ScriptedServer, index: int) -> Any:
    return server.requests[index].json


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "schema", "good", "bad"), KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON])
def test_every_kind_round_trips_and_is_validated(
    scripted_server: ScriptedServer,
    mode: OutputMode,
    name: str,
    schema: dict[str, Any],
    good: Any,
    bad: Any,
) -> None:
    wrapped_tools = schema.get("type") != "object"
    bad_answer = {"value": bad} if wrapped_tools else bad
    good_answer: Any = {"value": good} if wrapped_tools else good
    if mode is OutputMode.JSON and wrapped_tools:
        good_answer = json.dumps(good)  # a bare value is read as the wrapped one
    scripted_server.script(
        [
            OPENAI.answer(bad_answer, mode, tool_name="response"),
            OPENAI.answer(good_answer, mode, tool_name="response"),
        ]
    )
    value = (
        OPENAI.client(scripted_server)
        .with_(messages="go", response_model=schema, mode=mode, max_retries=1)
        .get()
    )
    assert value == good
    assert len(scripted_server.requests) == 2  # the invalid answer was sent back
    first = scripted_server.requests[0].json
    if mode is OutputMode.TOOLS:
        parameters = first["tools"][0]["function"]["parameters"]
        assert parameters["type"] == "object"
        if wrapped_tools:
            assert parameters["required"] == ["value"]
    retry = scripted_server.requests[1].json["messages"][-1]["content"]
    assert "$" in retry


@pytest.mark.e2e
def test_an_object_schema_is_not_wrapped(scripted_server: ScriptedServer) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    scripted_server.script([OPENAI.answer({"n": 3}, OutputMode.TOOLS, tool_name="response")])
    value = OPENAI.client(scripted_server).with_(messages="go", response_model=schema).get()
    assert value == {"n": 3}
    parameters = scripted_server.requests[0].json["tools"][0]["function"]["parameters"]
    assert parameters["properties"] == {"n": {"type": "integer"}}


def test_an_invalid_schema_still_fails_at_build_time() -> None:
    with pytest.raises(InvalidSchemaError, match="not valid"):
        StructuredOutput().with_(response_model={"enum": "red"})


LOCAL_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("integer", {"type": "integer", "minimum": 1, "maximum": 12}, "How many months are in a year?"),
    ("enum", {"enum": ["positive", "negative"]}, "Sentiment of: I love this phone!"),
    (
        "array",
        {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "List two colors.",
    ),
    ("const", {"const": "ok"}, "Say ok."),
    ("anyOf", {"anyOf": [{"type": "boolean"}, {"type": "null"}]}, "Is water wet?"),
    (
        "map",
        {
            "type": "object",
            "additionalProperties": {"type": "integer", "maximum": 99},
            "maxProperties": 2,
        },
        "Ann is 3 years old and Bob is 5. Map each name to the age.",
    ),
    ("recursive", TREE, "A tree with root 1 and one child 2."),
]


@needs_model
@pytest.mark.timeout(1200)
@pytest.mark.parametrize(("name", "schema", "prompt"), LOCAL_CASES, ids=[c[0] for c in LOCAL_CASES])
def test_every_kind_on_the_embedded_model(name: str, schema: dict[str, Any], prompt: str) -> None:
    from jsonschema import Draft202012Validator

    value = (
        StructuredOutput()
        .using("local")
        .with_(messages=prompt, response_model=schema, max_retries=0, options={"max_tokens": 120})
        .get()
    )
    # the grammar makes the answer valid; the caller gets the bare value, not the wrapper
    Draft202012Validator(schema).validate(value)
    if schema.get("type") != "object":
        assert not (isinstance(value, dict) and set(value) == {"value"})


@pytest.mark.e2e
def test_a_wrapped_schema_streams_bare_partials(scripted_server: ScriptedServer) -> None:
    from tests.support.servers import Reply
    from tests.support.servers import wire as w

    scripted_server.script([Reply.sse(w.openai_stream('{"value": [1, 2, 3]}'))])
    stream = (
        OPENAI.client(scripted_server)
        .with_(
            messages="go",
            response_model={"type": "array", "items": {"type": "integer"}},
            mode="json",
        )
        .stream()
    )
    partials = list(stream.partials())
    assert partials[-1] == [1, 2, 3] and all(isinstance(p, list) for p in partials)
    assert stream.final_value() == [1, 2, 3]
