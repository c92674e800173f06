"""Every response-model kind through the public API, over both real wire formats (scripted
loopback server): what the model is asked for (the schema on the wire) and what the caller gets."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from instructor_py import Maybe, MaybeResult, Sequence, StructuredOutputRetryError
from instructor_py.common.modes import OutputMode
from tests.support.servers import ScriptedServer
from tests.support.wire_formats import ANTHROPIC, WIRES, Wire

pytestmark = pytest.mark.e2e


class User(BaseModel):
    name: str
    age: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


USER_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}

KINDS: list[tuple[str, Any, Any, Any]] = [
    ("pydantic", User, {"name": "Ann", "age": 30}, User(name="Ann", age=30)),
    ("json-schema-dict", USER_SCHEMA, {"name": "Ann", "age": 30}, {"name": "Ann", "age": 30}),
    ("int", int, {"value": 42}, 42),
    ("float", float, {"value": 2.5}, 2.5),
    ("str", str, {"value": "hi"}, "hi"),
    ("bool", bool, {"value": True}, True),
    ("literal", Literal["yes", "no"], {"value": "no"}, "no"),
    ("enum", Color, {"value": "green"}, Color.GREEN),
    ("maybe-found", Maybe(User), {"result": {"name": "Ann", "age": 3}, "error": False}, MaybeResult(User(name="Ann", age=3))),
    ("maybe-missing", Maybe(User), {"result": None, "error": True, "message": "no user"}, MaybeResult(None, True, "no user")),
    ("sequence", Sequence.of(User), {"items": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]}, [User(name="A", age=1), User(name="B", age=2)]),
    ("list", list[User], {"items": [{"name": "A", "age": 1}]}, [User(name="A", age=1)]),
    ("dataclass", Point, {"x": 1, "y": 2}, Point(1, 2)),
    ("typeddict", Movie, {"title": "Up", "year": 2009}, {"title": "Up", "year": 2009}),
]
CASES = [(w, m, *k) for w in WIRES for m in (OutputMode.TOOLS, OutputMode.JSON) for k in KINDS]
IDS = [f"{w.preset}-{m.value}-{k[0]}" for w, m, *k in CASES]


FIELDS: dict[str, set[str]] = {
    "pydantic": {"name", "age"},
    "json-schema-dict": {"name", "age"},
    **{key: {"value"} for key in ("int", "float", "str", "bool", "literal", "enum")},
    "maybe-found": {"result", "error", "message"},
    "maybe-missing": {"result", "error", "message"},
    "sequence": {"items"},
    "list": {"items"},
    "dataclass": {"x", "y"},
    "typeddict": {"title", "year"},
}
assert set(FIELDS) == {k[0] for k in KINDS}


def sent_schema(text: str) -> dict[str, Any]:
    """The JSON schema in a tool's parameters or in the schema instructions of the prompt."""
    start = text.index("{")
    schema, _ = json.JSONDecoder().raw_decode(text, start)
    assert isinstance(schema, dict) and schema.get("type") == "object"
    return schema


def wire_schema(wire: Wire, mode: OutputMode, body: dict[str, Any]) -> str:
    if mode is OutputMode.TOOLS:
        tool = body["tools"][0]
        return json.dumps(tool["input_schema"] if wire is ANTHROPIC else tool["function"]["parameters"])
    return str(body["system"] if wire is ANTHROPIC else body["messages"][0]["content"])


@pytest.mark.parametrize(("wire", "mode", "kind", "model", "answer", "expected"), CASES, ids=IDS)
def test_response_model_kind(
    scripted_server: ScriptedServer, wire: Wire, mode: OutputMode, kind: str, model: Any, answer: Any, expected: Any
) -> None:
    scripted_server.script([wire.answer(answer, mode)])
    # the raw schema in the prompt, so that the test can read it back
    value = (
        wire.client(scripted_server)
        .with_(messages="extract", response_model=model, mode=mode, schema_prompt="raw")
        .get()
    )
    assert value == expected
    assert type(value) is type(expected)
    schema = sent_schema(wire_schema(wire, mode, scripted_server.requests[0].json))
    assert set(schema["properties"]) == FIELDS[kind]  # asked for exactly the kind's fields ...
    assert set(answer) <= FIELDS[kind]  # ... and the answer used only those


@pytest.mark.parametrize("wire", WIRES, ids=[w.preset for w in WIRES])
def test_wrong_scalar_is_never_returned(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([wire.answer({"value": "forty-two"}, OutputMode.TOOLS)] * 2)
    client = wire.client(scripted_server).with_(messages="extract", response_model=int, max_retries=1)
    with pytest.raises(StructuredOutputRetryError) as info:
        client.get()
    assert len(info.value.attempts) == 2
    assert all(a.errors for a in info.value.attempts)
