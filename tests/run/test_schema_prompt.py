"""``schema_prompt``: how JSON / MD_JSON / GRAMMAR modes show the schema (compact text by default,
the raw JSON schema on request), end to end against the scripted loopback server."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from instructor_py import StructuredOutput
from instructor_py.common.errors import InvalidArgumentError
from instructor_py.common.modes import OutputMode
from instructor_py.response_models.factory import to_response_model
from instructor_py.run.request_builder import schema_instructions
from instructor_py.schema.prompt import describe_schema
from tests.support.servers import ScriptedServer
from tests.support.wire_formats import OPENAI

pytestmark = pytest.mark.e2e


class Address(BaseModel):
    city: str
    zip: str = Field(pattern=r"^\d{5}$")


class Person(BaseModel):
    """A person."""

    name: str = Field(description="Full name.")
    age: int = Field(ge=0, le=150)
    role: Literal["admin", "user"]
    home: Address
    tags: list[str] = []
    scores: dict[str, float] = {}
    boss: Person | None = None


ANSWER = {"name": "Ann", "age": 30, "role": "user", "home": {"city": "Oslo", "zip": "01234"}}


def _system(server: ScriptedServer) -> str:
    messages: list[dict[str, Any]] = server.requests[-1].json["messages"]
    content = messages[0]["content"]
    assert messages[0]["role"] == "system" and isinstance(content, str)
    return content


@pytest.mark.parametrize("mode", [OutputMode.JSON, OutputMode.MD_JSON])
def test_prompted_modes_show_the_compact_description_by_default(
    scripted_server: ScriptedServer, mode: OutputMode
) -> None:
    scripted_server.script([OPENAI.answer(ANSWER, mode)])
    person = (
        OPENAI.client(scripted_server)
        .with_(messages="Ann, 30, from Oslo", response_model=Person, mode=mode)
        .get()
    )
    assert person.name == "Ann" and person.home.city == "Oslo"
    system = _system(scripted_server)
    assert "$ref" not in system and '"properties"' not in system
    assert '- "age" (integer): at least 0; at most 150' in system
    assert '- "role" (one of "admin", "user")' in system
    assert '  - "zip" (string): matching /^\\d{5}$/' in system
    assert '- "scores" (object mapping names to numbers, optional)' in system
    assert "it is a Person, with the keys listed above" in system
    raw = schema_instructions(to_response_model(Person), mode, "raw")
    # fewer pieces (words and punctuation marks: what a BPE tokenizer splits at least)
    assert len(_pieces(system)) < 0.8 * len(_pieces(raw)), (len(_pieces(system)), len(_pieces(raw)))


def _pieces(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text)


@pytest.mark.parametrize("mode", [OutputMode.JSON, OutputMode.MD_JSON])
def test_raw_shows_the_json_schema(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script([OPENAI.answer(ANSWER, mode)])
    OPENAI.client(scripted_server).with_(
        messages="Ann", response_model=Person, mode=mode, schema_prompt="raw"
    ).get()
    system = _system(scripted_server)
    schema = json.dumps(Person.model_json_schema(), ensure_ascii=False, separators=(",", ":"))
    assert schema in system


def test_tools_mode_is_unchanged(scripted_server: ScriptedServer) -> None:
    scripted_server.script([OPENAI.answer(ANSWER, OutputMode.TOOLS)])
    OPENAI.client(scripted_server).with_(
        messages="Ann", response_model=Person, mode=OutputMode.TOOLS
    ).get()
    body = scripted_server.requests[-1].json
    parameters = body["tools"][0]["function"]["parameters"]
    assert "$defs" in parameters and '"maximum":150' in json.dumps(
        parameters, separators=(",", ":")
    )
    assert all(m["role"] != "system" for m in body["messages"])


def test_a_bad_value_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidArgumentError, match="'compact', 'raw'"):
        StructuredOutput().with_(schema_prompt="yaml")


def test_describe_covers_unions_tuples_allof_const_and_root_kinds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "shape": {
                "oneOf": [
                    {"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                    {"type": "object", "properties": {"w": {"type": "number"}}},
                ]
            },
            "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]},
            "both": {"allOf": [{"$ref": "#/$defs/A"}, {"properties": {"b": {"const": 1}}}]},
            "ids": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        "required": ["shape"],
        "$defs": {
            "A": {"type": "object", "properties": {"a": {"type": "string", "format": "date"}}}
        },
    }
    text = describe_schema(schema)
    assert "option 1, with these keys:" in text and '    - "r" (number)' in text
    assert '- "point" (list of 2: [number, number], optional)' in text
    assert '  - "a" (string (date), optional)' in text and '  - "b" (exactly 1, optional)' in text
    assert '- "ids" (list of strings, optional): no duplicates' in text
    assert describe_schema({"enum": ["x", "y"]}) == 'Answer with JSON: one of "x", "y".'
    assert describe_schema(
        {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "integer"}}}}
    ).startswith('Answer with a JSON list of objects, each with these keys:\n- "k"')
