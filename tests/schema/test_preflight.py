"""Schema preflight: rewrites keep the caller's schema as the judge; refusals name keyword, path,
provider and fix, before any request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import SchemaPreflightError, StructuredOutput
from instructor_py.cli import main
from instructor_py.common.modes import OutputMode
from instructor_py.schema.preflight import preflight
from tests.support.media_samples import Reply, ScriptedServer, wire


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    name: str
    nickname: str = "none"
    address: Address | None = None


def test_openai_strict_rewrites_optional_fields_and_closes_objects() -> None:
    report = preflight(Person.model_json_schema(), "openai")
    assert report.outcome == "rewritten"
    wire_schema = report.schema
    assert wire_schema["required"] == ["name", "nickname", "address"]
    assert wire_schema["additionalProperties"] is False
    assert wire_schema["$defs"]["Address"]["required"] == ["city", "zip"]
    assert "default" not in json.dumps(wire_schema)
    kinds = {(i.keyword, i.path) for i in report.rewritten}
    assert ("required", "$") in kinds and ("additionalProperties", "$.$defs.Address") in kinds


def test_openai_strict_refuses_maps_with_keyword_path_and_fix() -> None:
    schema = {"type": "object", "properties": {"scores": {"type": "object",
              "additionalProperties": {"type": "integer"}}}, "required": ["scores"]}
    report = preflight(schema, "openai")
    assert report.outcome == "refused"
    with pytest.raises(SchemaPreflightError) as caught:
        report.raise_if_refused()
    text = str(caught.value)
    assert "additionalProperties" in text and "$.properties.scores" in text
    assert "openai" in text and "strict=False" in text and "Nothing was sent" in text


def test_gemini_response_schema_inlines_refs_and_writes_nullable() -> None:
    report = preflight(Person.model_json_schema(), "gemini")
    assert report.outcome == "rewritten"
    address = report.schema["properties"]["address"]
    assert address["nullable"] is True and address["properties"]["city"] == {"title": "City", "type": "string"}
    assert "$defs" not in report.schema and "$ref" not in json.dumps(report.schema)


def test_gemini_refuses_recursion_and_json_schema_variant_takes_it() -> None:
    schema = {"type": "object", "properties": {"child": {"$ref": "#"}, "name": {"type": "string"}}}
    refused = preflight(schema, "gemini")
    assert refused.outcome == "refused" and "responseJsonSchema" in refused.refused[0].fix
    assert preflight(schema, "gemini/responseJsonSchema").outcome == "as_is"


def test_llama_cpp_server_anchors_patterns_and_drops_lookaround() -> None:
    schema = {"type": "object", "properties": {
        "code": {"type": "string", "pattern": "[A-Z]{3}"},
        "pw": {"type": "string", "pattern": "^(?=.*\\d).+$"}}}
    report = preflight(schema, "llama-cpp-server")
    props = report.schema["properties"]
    assert props["code"]["pattern"] == "^.*([A-Z]{3}).*$"
    assert "pattern" not in props["pw"]


@pytest.mark.parametrize("target", ["anthropic", "bedrock", "openai"])
def test_tool_targets_refuse_a_non_object_root(target: str) -> None:
    report = preflight({"type": "array", "items": {"type": "string"}}, target)
    assert report.outcome == "refused" and report.refused[0].path == "$"


def test_openai_driver_sends_the_rewritten_schema_strict_and_validates_against_the_original(
    scripted_server: ScriptedServer,
) -> None:
    # the model omits nothing (strict), gives null for the nullable address: valid for Person
    answer = {"name": "Ada", "nickname": "countess", "address": None}
    scripted_server.script([Reply.json(wire.openai_chat(content=json.dumps(answer)))])
    value = StructuredOutput().using("openai", base_url=scripted_server.openai_url, api_key="k",
                                     model="gpt-4o").with_(
        messages="Ada", response_model=Person, mode=OutputMode.JSON_SCHEMA).get()
    assert value == Person(name="Ada", nickname="countess")
    sent = scripted_server.requests[0].json["response_format"]["json_schema"]
    assert sent["strict"] is True and sent["schema"]["required"] == ["name", "nickname", "address"]


def test_openai_strict_true_with_a_refused_schema_fails_before_any_request(
    scripted_server: ScriptedServer,
) -> None:
    builder = StructuredOutput().using("openai", base_url=scripted_server.openai_url, api_key="k",
                                       model="gpt-4o").with_(
        messages="x", response_model={"type": "object", "properties": {"m": {
            "type": "object", "additionalProperties": {"type": "string"}}}},
        mode=OutputMode.TOOLS, options={"strict": True})
    with pytest.raises(SchemaPreflightError, match=r"\$\.properties\.m"):
        builder.get()
    assert scripted_server.requests == []


def test_openai_auto_strict_falls_back_to_non_strict_for_a_refused_schema(
    scripted_server: ScriptedServer,
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"m": {
        "type": "object", "additionalProperties": {"type": "string"}}}, "required": ["m"]}
    scripted_server.script([Reply.json(wire.openai_chat(tool_args='{"m": {"a": "b"}}'))])
    value = StructuredOutput().using("openai", base_url=scripted_server.openai_url, api_key="k",
                                     model="gpt-4o").with_(
        messages="x", response_model=schema, mode=OutputMode.TOOLS).into_dict().get()
    assert value == {"m": {"a": "b"}}
    function = scripted_server.requests[0].json["tools"][0]["function"]
    assert "strict" not in function and function["parameters"] == schema


def test_cli_schema_check_prints_the_report(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    assert main(["schema", "check", str(path), "--provider", "openai"]) == 0
    out = capsys.readouterr().out
    assert "openai [strict]: rewritten" in out and "made required: a" in out
    assert main(["schema", "check", str(path), "--provider", "anthropic"]) == 0
    assert "anthropic [tools]: sent as is" in capsys.readouterr().out
    path.write_text(json.dumps({"type": "array"}))
    assert main(["schema", "check", str(path), "--provider", "bedrock"]) == 1
    assert "refused" in capsys.readouterr().out
