"""Gemini's native generateContent driver (Gemini API and Vertex AI) against the loopback double of
tests/support/vendors/gemini.py (which quotes the REST reference it follows)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentFilteredError,
    RateLimitError,
    SchemaPreflightError,
    StructuredOutputRetryError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.gemini import GeminiProvider
from instructor_py.providers.gemini_messages import THOUGHT_SIGNATURE_SKIP
from instructor_py.providers.registry import create_provider
from instructor_py.providers.vertex import VertexProvider
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.vendors import ScriptedServer
from tests.support.vendors import gemini as g

KEY = "AIzaSyD-SECRET-gemini-key-0123456789"
TOKEN = "ya29.a0-SECRET-vertex-token"
ANSWER = {"name": "Jason", "age": 25}
NO_RETRY = TransportRetryPolicy(max_retries=0)


class User(BaseModel):
    name: str
    age: int


def gemini(server: ScriptedServer, **kw: Any) -> StructuredOutput[Any]:
    return StructuredOutput().using("gemini", api_key=KEY, base_url=f"{server.url}/v1beta", **kw)


def reply_for(mode: OutputMode, **kw: Any) -> dict[str, Any]:
    text = json.dumps(ANSWER)
    if mode is OutputMode.TOOLS:
        return g.response(call=("User", ANSWER), **kw)
    if mode is OutputMode.MD_JSON:
        return g.response(f"Here you go:\n```json\n{text}\n```", **kw)
    return g.response(text, **kw)


@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON])
def test_every_mode_end_to_end(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script([g.answer(reply_for(mode))])
    response = (
        gemini(scripted_server)
        .with_(messages=[{"role": "system", "content": "Extract users."}, {"role": "user", "content": "Jason is 25"}], response_model=User)
        .with_output_mode(mode)
        .with_options(temperature=0.1, max_tokens=200, stop="END", top_k=4)
        .response()
    )
    assert response.value == User(**ANSWER)
    assert response.usage == Usage(12, 7)
    body = g.check_gemini_request(scripted_server.requests[0], model="gemini-2.5-flash", stream=True, api_key=KEY)  # get() streams (streams_answers)
    assert body["systemInstruction"]["parts"][0]["text"].startswith("Extract users.")
    assert body["contents"][0] == {"role": "user", "parts": [{"text": "Jason is 25"}]}
    config = body["generationConfig"]
    assert config["temperature"] == 0.1 and config["maxOutputTokens"] == 200
    assert config["stopSequences"] == ["END"] and config["topK"] == 4
    if mode is OutputMode.TOOLS:
        declaration = body["tools"][0]["functionDeclarations"][0]
        assert declaration["name"] == "User" and declaration["parametersJsonSchema"]["required"] == ["name", "age"]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["User"]}}
        assert "responseMimeType" not in config
    elif mode is OutputMode.JSON_SCHEMA:
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"]["properties"]["age"] == {"title": "Age", "type": "integer"}
    elif mode is OutputMode.JSON:
        assert config["responseMimeType"] == "application/json" and "responseJsonSchema" not in config
    else:
        assert "responseMimeType" not in config and "tools" not in body


def test_openapi_schema_style(scripted_server: ScriptedServer) -> None:
    """schema_style="openapi": the schema preflight writes the OpenAPI subset of responseSchema
    (refs inlined, unions with null as nullable); the answer is validated against the model."""

    class Pet(BaseModel):
        kind: str
        owner: User | None = None

    scripted_server.script([g.answer(g.response(json.dumps({"kind": "cat", "owner": None})))])
    pet = gemini(scripted_server).with_(messages="a cat", response_model=Pet).with_options(schema_style="openapi").get()
    assert pet == Pet(kind="cat")
    config = scripted_server.requests[0].json["generationConfig"]
    schema = config["responseSchema"]
    assert "responseJsonSchema" not in config and "$ref" not in json.dumps(schema)  # refs inlined
    owner = schema["properties"]["owner"]
    assert owner["nullable"] is True and owner["properties"]["age"]["type"] == "integer"


def test_schemas_the_field_cannot_take_are_refused_before_sending(scripted_server: ScriptedServer) -> None:
    class Node(BaseModel):
        value: int
        children: list[Node] = []

    builder = gemini(scripted_server).with_(messages="a tree", response_model=Node)
    with pytest.raises(SchemaPreflightError, match="gemini"):
        builder.with_options(schema_style="openapi").get()  # responseSchema cannot recurse
    with pytest.raises(ConfigurationError, match="schema_style"):
        builder.with_options(schema_style="xml").get()
    assert scripted_server.requests == []
    scripted_server.script([g.answer(g.response(json.dumps({"value": 1, "children": [{"value": 2}]})))])
    assert builder.get().children[0].value == 2  # responseJsonSchema takes $defs / $ref
    assert "$defs" in scripted_server.requests[0].json["generationConfig"]["responseJsonSchema"]


@pytest.mark.parametrize("seed", [0, 7])
def test_stream_partials_usage_and_thinking(scripted_server: ScriptedServer, seed: int) -> None:
    text = json.dumps({"name": "Zoë 🎉 \"J\"", "age": 25})
    tokens = g.usage(40, 11, thoughts=300, cached=32)
    scripted_server.script([g.sse(g.stream_chunks(text, piece=4, tokens=tokens), seed=seed)])
    stream = gemini(scripted_server).with_(messages="Zoë is 25", response_model=User).with_thinking(512).stream()
    partials = list(stream.partials())
    assert len(partials) > 3 and stream.final_value() == User(name='Zoë 🎉 "J"', age=25)
    final = stream.final_response()
    assert final.usage == Usage(input_tokens=40, output_tokens=311, cache_read_tokens=32, reasoning_tokens=300)
    assert final.raw_response["candidates"][0]["content"]["parts"] == [{"text": text}]
    body = g.check_gemini_request(scripted_server.requests[0], model="gemini-2.5-flash", stream=True, api_key=KEY)
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 512}


def test_thought_parts_are_not_the_answer(scripted_server: ScriptedServer) -> None:
    scripted_server.script([g.answer(g.response(json.dumps(ANSWER), thought="**Reading** {not json", tokens=g.usage(5, 6, thoughts=20)))])
    builder = gemini(scripted_server).with_(messages="Jason is 25", response_model=User)
    response = builder.with_options(thinking_budget=1024, include_thoughts=True).response()
    assert response.value == User(**ANSWER) and response.usage.reasoning_tokens == 20
    assert scripted_server.requests[0].json["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}


def test_tools_stream_and_retry_feedback(scripted_server: ScriptedServer) -> None:
    """A function call that fails validation is fed back as a functionCall turn (with the
    documented skip signature) and a functionResponse turn."""
    scripted_server.script(
        [
            g.sse(g.stream_chunks(call=("User", {"name": "Jason", "age": "old"}))),
            g.sse(g.stream_chunks(call=("User", ANSWER))),
        ]
    )
    stream = gemini(scripted_server, mode="tools").with_(messages="Jason is 25", response_model=User, max_retries=1).stream()
    assert stream.final_value() == User(**ANSWER)
    body = g.check_gemini_request(scripted_server.requests[1], model="gemini-2.5-flash", stream=True, api_key=KEY)
    model_turn, answer_turn = body["contents"][1], body["contents"][2]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][-1] == {"functionCall": {"name": "User", "args": {"name": "Jason", "age": "old"}}, "thoughtSignature": THOUGHT_SIGNATURE_SKIP}
    response_part = answer_turn["parts"][0]["functionResponse"]
    assert answer_turn["role"] == "user" and response_part["name"] == "User" and "Rejected" in response_part["response"]["content"]
    assert "age" in json.dumps(answer_turn["parts"][1:])  # the validation errors, in the same user turn


@pytest.mark.parametrize(
    ("reason", "words"),
    [("SAFETY", "safety filters"), ("RECITATION", "recit"), ("PROHIBITED_CONTENT", "prohibited"), ("SPII", "personally identifiable")],
)
def test_policy_stops_are_typed_errors(scripted_server: ScriptedServer, reason: str, words: str) -> None:
    scripted_server.script([g.answer(g.response("", finish=reason))])
    with pytest.raises(ContentFilteredError, match=words) as info:
        gemini(scripted_server).with_(messages="x", response_model=User).get()
    assert info.value.reason == reason and not info.value.blocked_prompt
    assert f"finishReason={reason}" in str(info.value) and len(scripted_server.requests) == 1  # not retried


def test_blocked_prompt_and_streamed_safety_stop(scripted_server: ScriptedServer) -> None:
    scripted_server.script([g.answer(g.blocked_prompt("PROHIBITED_CONTENT"))])
    with pytest.raises(ContentFilteredError, match="blocked the prompt") as info:
        gemini(scripted_server).with_(messages="x", response_model=User).get()
    assert info.value.blocked_prompt and info.value.reason == "PROHIBITED_CONTENT"
    scripted_server.script([g.sse(g.stream_chunks('{"name": "J', finish="SAFETY"))])
    with pytest.raises(ContentFilteredError, match="SAFETY"):
        gemini(scripted_server).with_(messages="x", response_model=User).stream().final_value()


def test_max_tokens_is_a_cut_off_attempt(scripted_server: ScriptedServer) -> None:
    scripted_server.script([g.answer(g.response('{"name": "Ja', finish="MAX_TOKENS")), g.answer(g.response(json.dumps(ANSWER)))])
    response = gemini(scripted_server).with_(messages="x", response_model=User, max_retries=1).response()
    assert response.value == User(**ANSWER)
    assert "cut off by the token limit" in response.attempts[0].errors[0]
    scripted_server.script([g.answer(g.response('{"name": "Ja', finish="MAX_TOKENS"))])
    with pytest.raises(StructuredOutputRetryError, match="max_tokens"):
        gemini(scripted_server).with_(messages="x", response_model=User, max_retries=0).get()


def test_faults_rate_limit_server_error_cut_stream(scripted_server: ScriptedServer) -> None:
    text = json.dumps(ANSWER)
    full = g.sse(g.stream_chunks(text))
    scripted_server.script(
        [
            g.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", headers={"Retry-After": "0"}),
            g.error(500, "INTERNAL", "An internal error has occurred."),
            g.sse(g.stream_chunks(text), cut_after=len(full.body) // 2),
            full,
        ]
    )
    assert gemini(scripted_server).with_(messages="x", response_model=User).stream().final_value() == User(**ANSWER)
    assert len(scripted_server.requests) == 4
    scripted_server.script([g.error(429, "RESOURCE_EXHAUSTED", f"Quota exceeded for {KEY}", retry_delay="17s")])
    with pytest.raises(RateLimitError) as info:
        gemini(scripted_server).with_(messages="x", response_model=User).with_transport_retry_policy(NO_RETRY).get()
    assert info.value.retry_after == 17 and KEY not in str(info.value)
    scripted_server.script([g.error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")])
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        gemini(scripted_server).with_(messages="x", response_model=User).get()


async def test_async_infer_and_stream(scripted_server: ScriptedServer) -> None:
    scripted_server.script([g.answer(reply_for(OutputMode.JSON)), g.sse(g.stream_chunks(json.dumps(ANSWER)))])
    builder = gemini(scripted_server, mode="json").with_(messages="Jason is 25", response_model=User)
    assert await builder.aget() == User(**ANSWER)
    stream = builder.astream() if hasattr(builder, "astream") else None
    assert stream is not None
    partials = [p async for p in stream.partials()]
    assert partials and await stream.final_value() == User(**ANSWER)


def test_vertex_with_a_token_provider(scripted_server: ScriptedServer) -> None:
    tokens = iter([f"{TOKEN}-1", f"{TOKEN}-2"])
    scripted_server.script([g.answer(reply_for(OutputMode.JSON_SCHEMA)), g.sse(g.stream_chunks(json.dumps(ANSWER)))])
    builder = StructuredOutput().using(
        "vertex/gemini-2.5-pro", project="my-proj", location="europe-west4", token_provider=lambda: next(tokens), base_url=f"{scripted_server.url}/v1"
    )
    driver = builder.resolve_provider()
    assert isinstance(driver, VertexProvider) and TOKEN not in repr(driver)
    call = builder.with_(messages="Jason is 25", response_model=User)
    assert call.get() == User(**ANSWER)
    assert call.stream().final_value() == User(**ANSWER)
    first, second = scripted_server.requests
    body = g.check_vertex_request(first, project="my-proj", location="europe-west4", model="gemini-2.5-pro", stream=True, token=f"{TOKEN}-1")
    assert "responseJsonSchema" in body["generationConfig"]
    g.check_vertex_request(second, project="my-proj", location="europe-west4", model="gemini-2.5-pro", stream=True, token=f"{TOKEN}-2")


def test_vertex_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        create_provider("vertex", token_provider=lambda: "t")
    driver = create_provider("vertex", project="p", location="global", access_token=TOKEN)
    assert isinstance(driver, VertexProvider) and driver.base_url == "https://aiplatform.googleapis.com/v1"
    assert TOKEN not in repr(driver)
    assert create_provider("vertex", project="p").base_url == "https://us-central1-aiplatform.googleapis.com/v1"
    with pytest.raises(ConfigurationError, match="callable"):
        create_provider("vertex", project="p", token_provider="tok")


def test_gemini_preset_is_native_and_keys_stay_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    driver = create_provider("gemini/gemini-2.5-pro")
    assert isinstance(driver, GeminiProvider) and driver.default_model == "gemini-2.5-pro"
    assert driver.default_mode is OutputMode.JSON_SCHEMA and KEY not in repr(driver)
    assert create_provider("gemini-openai").base_url.endswith("/openai")


async def test_vertex_async_and_missing_google_auth(scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_server.script([g.answer(reply_for(OutputMode.TOOLS))])
    builder = StructuredOutput().using(
        "vertex", project="proj", location="global", token_provider=lambda: TOKEN, base_url=f"{scripted_server.url}/v1", mode="tools"
    )
    assert await builder.with_(messages="Jason is 25", response_model=User).aget() == User(**ANSWER)
    body = g.check_vertex_request(scripted_server.requests[0], project="proj", location="global", model="gemini-2.5-flash", stream=True, token=TOKEN)
    assert body["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"
    monkeypatch.setitem(__import__("sys").modules, "google.auth", None)  # google-auth not installed
    no_token = StructuredOutput().using("vertex", project="proj", base_url=f"{scripted_server.url}/v1")
    with pytest.raises(ConfigurationError, match="google-auth"):
        await no_token.with_(messages="x", response_model=User).aget()
    assert len(scripted_server.requests) == 1  # nothing sent without a token


@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON])
def test_vertex_every_mode_end_to_end(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script([g.answer(reply_for(mode))])
    builder = StructuredOutput().using(
        "vertex", project="proj", location="us-east5", access_token=TOKEN, base_url=f"{scripted_server.url}/v1"
    )
    assert builder.with_(messages="Jason is 25", response_model=User, mode=mode).get() == User(**ANSWER)
    body = g.check_vertex_request(scripted_server.requests[0], project="proj", location="us-east5", model="gemini-2.5-flash", stream=True, token=TOKEN)
    config = body.get("generationConfig", {})
    assert ("tools" in body) == (mode is OutputMode.TOOLS)
    assert ("responseJsonSchema" in config) == (mode is OutputMode.JSON_SCHEMA)
    assert (config.get("responseMimeType") == "application/json") == (mode in (OutputMode.JSON_SCHEMA, OutputMode.JSON))


def test_vertex_cache_tells_projects_apart(scripted_server: ScriptedServer) -> None:
    from instructor_py.run.cache import MemoryCache

    cache = MemoryCache()
    scripted_server.script([g.answer(reply_for(OutputMode.JSON_SCHEMA)), g.answer(reply_for(OutputMode.JSON_SCHEMA))])

    def call(project: str) -> Any:
        return (
            StructuredOutput()
            .using("vertex", project=project, access_token=TOKEN, base_url=f"{scripted_server.url}/v1")
            .with_cache(cache)
            .with_(messages="Jason is 25", response_model=User)
            .response()
        )

    assert not call("a").cache_hit and call("a").cache_hit  # the second call sends nothing
    assert not call("b").cache_hit  # another project is another answerer
    assert len(scripted_server.requests) == 2


def test_schema_check_reports_what_the_driver_sends() -> None:
    from instructor_py.client.schema_check import check_schema_for

    class Node(BaseModel):
        value: int
        children: list[Node] = []

    schema = Node.model_json_schema()
    for provider in ("gemini", "vertex"):
        report = check_schema_for(schema, provider, "json_schema")
        assert report is not None and report.target == "gemini" and report.variant == "responseJsonSchema"
        assert report.outcome != "refused"  # the driver sends it (test_schemas_the_field_cannot_take...)
    openapi = check_schema_for(schema, "gemini/responseSchema", "json_schema")
    assert openapi is not None and openapi.outcome == "refused"
