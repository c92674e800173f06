"""The request each output mode produces (system/prompt/examples placement, tool, schema)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from instructor_py import Example, OutputMode, StructuredOutput, UnsupportedModeError
from instructor_py.providers.base import InferenceRequest
from instructor_py.schema.prompt import describe_schema
from tests.support.scripted_provider import ScriptedProvider


class User(BaseModel):
    name: str
    age: int


def first_request(mode: OutputMode | None, **kw: object) -> InferenceRequest:
    p = ScriptedProvider([])
    so = StructuredOutput().with_provider(p).with_(response_model=User, mode=mode, **kw)  # type: ignore[arg-type]
    return so.create().request


def test_tools_mode_sets_tool_spec_and_no_schema_prompt() -> None:
    req = first_request(OutputMode.TOOLS, messages="Jason is 25")
    assert req.mode is OutputMode.TOOLS
    assert req.tool is not None
    assert req.tool.name == "User"
    assert req.tool.parameters == User.model_json_schema()
    assert req.messages == ({"role": "user", "content": "Jason is 25"},)
    assert req.model == "scripted-model"


def test_tool_name_and_description_override() -> None:
    req = first_request(
        None, messages="x", tool_name="extract_user", tool_description="Pull out the user"
    )
    assert req.mode is OutputMode.TOOLS  # the provider's default mode
    assert req.tool is not None
    assert (req.tool.name, req.tool.description) == ("extract_user", "Pull out the user")


def test_json_schema_mode_sets_response_schema_only() -> None:
    req = first_request(OutputMode.JSON_SCHEMA, messages="x")
    assert req.tool is None
    assert req.response_schema == User.model_json_schema()
    assert req.schema_name == "User"
    assert [m["role"] for m in req.messages] == ["user"]


@pytest.mark.parametrize("mode", [OutputMode.JSON, OutputMode.MD_JSON])
def test_prompted_modes_put_schema_in_system_prompt(mode: OutputMode) -> None:
    req = first_request(mode, messages="x", system="You extract users.")
    system = req.messages[0]
    assert system["role"] == "system"
    assert system["content"].startswith("You extract users.\n\n")
    # the compact type description by default (tests/run/test_schema_prompt.py has the raw form)
    assert describe_schema(User.model_json_schema()) in system["content"]
    assert req.tool is None
    assert ("```json" in system["content"]) is (mode is OutputMode.MD_JSON)


def test_placement_of_system_examples_messages_and_prompt() -> None:
    req = first_request(
        OutputMode.JSON,
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Bo is 3"}],
        system="You extract users.",
        prompt="Extract the user.",
        examples=[Example("Al is 9", User(name="Al", age=9)), {"input": "Cy is 5", "output": {"name": "Cy", "age": 5}}],
    )
    roles = [m["role"] for m in req.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "user"]
    assert req.messages[0]["content"].startswith("You extract users.\n\nBe terse.\n\n")
    assert req.messages[1] == {"role": "user", "content": "Al is 9"}
    assert json.loads(req.messages[2]["content"]) == {"name": "Al", "age": 9}
    assert json.loads(req.messages[4]["content"]) == {"name": "Cy", "age": 5}
    assert req.messages[5] == {"role": "user", "content": "Bo is 3"}
    assert req.messages[6] == {"role": "user", "content": "Extract the user."}


def test_md_json_examples_are_fenced() -> None:
    req = first_request(OutputMode.MD_JSON, messages="x", examples=[("Al is 9", '{"name":"Al","age":9}')])
    assert req.messages[2]["content"] == '```json\n{"name":"Al","age":9}\n```'


def test_options_and_model_pass_through() -> None:
    p = ScriptedProvider([])
    so = (
        StructuredOutput()
        .with_provider(p)
        .with_(messages="x", response_model=User, model="m1", options={"temperature": 0})
        .with_options(max_tokens=50)
    )
    req = so.create().request
    assert req.model == "m1"
    assert dict(req.options) == {"temperature": 0, "max_tokens": 50}


def test_unsupported_mode_lists_supported_ones() -> None:
    p = ScriptedProvider([], supported_modes=frozenset({OutputMode.TOOLS, OutputMode.JSON}))
    so = StructuredOutput().with_provider(p).with_(
        messages="x", response_model=User, mode=OutputMode.MD_JSON
    )
    with pytest.raises(UnsupportedModeError) as info:
        so.create()
    assert "md_json" in str(info.value)
    assert "json, tools" in str(info.value)
    assert p.requests == []


def test_unknown_mode_string_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown output mode 'xml'"):
        StructuredOutput().with_output_mode("xml")


def test_mode_accepts_its_string_value() -> None:
    assert first_request("md_json", messages="x").mode is OutputMode.MD_JSON  # type: ignore[arg-type]
