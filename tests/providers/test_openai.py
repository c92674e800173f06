"""The OpenAI-compatible driver against the scripted loopback server (real sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from instructor_py import StructuredOutput
from instructor_py.common.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    UnsupportedModeError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceDelta, InferenceRequest, ToolSpec
from instructor_py.providers.openai_wire import build_params, is_strict_compatible
from instructor_py.providers.presets import PRESETS
from instructor_py.providers.registry import create_provider
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers.llama import free_port
from tests.support.servers.wire import openai_chat, openai_stream

KEY = "sk-test-SECRET-0123456789"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
STRICT_SCHEMA = {**SCHEMA, "additionalProperties": False}
MESSAGES = ({"role": "user", "content": "Jason is 25"},)


def request(mode: OutputMode = OutputMode.TOOLS, **kw: Any) -> InferenceRequest:
    """A request as build_plan resolves it: with a model, and a tool in TOOLS mode."""
    schema = kw.pop("schema", SCHEMA)
    kw.setdefault("model", "gpt-x")
    if mode is OutputMode.TOOLS:
        kw.setdefault("tool", ToolSpec(name="User", description="Return a User object.", parameters=schema))
    return InferenceRequest(messages=MESSAGES, mode=mode, response_schema=schema, schema_name="User", **kw)


def provider(server: ScriptedServer, preset: str = "openai", **kw: Any) -> Any:
    return create_provider(preset, api_key=KEY, base_url=server.openai_url, **kw)


# --- request building (pure) ------------------------------------------------------------------


def test_tools_mode_forces_the_function() -> None:
    params = build_params(request(), PRESETS["openai"], stream=False)
    assert params["tools"][0]["function"]["name"] == "User"
    assert params["tools"][0]["function"]["parameters"] == SCHEMA
    assert "strict" not in params["tools"][0]["function"]  # not strict-compatible as written
    assert params["tool_choice"] == {"type": "function", "function": {"name": "User"}}
    assert "response_format" not in params


def test_tool_spec_is_used_when_given() -> None:
    spec = ToolSpec(name="extract user!", description="Extract.", parameters=STRICT_SCHEMA)
    params = build_params(request(tool=spec, schema=STRICT_SCHEMA), PRESETS["openai"], stream=False)
    function = params["tools"][0]["function"]
    assert function["name"] == "extract_user_"
    assert function["description"] == "Extract."
    assert function["strict"] is True


def test_json_schema_mode_openai_and_llamacpp_styles() -> None:
    openai_params = build_params(
        request(OutputMode.JSON_SCHEMA, schema=STRICT_SCHEMA), PRESETS["openai"], stream=False
    )
    assert openai_params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "User", "schema": STRICT_SCHEMA, "strict": True},
    }
    llama = build_params(request(OutputMode.JSON_SCHEMA), PRESETS["llamacpp-server"], stream=False)
    assert llama["response_format"] == {"type": "json_object", "schema": SCHEMA}
    groq = build_params(request(OutputMode.JSON_SCHEMA, schema=STRICT_SCHEMA), PRESETS["groq"], stream=False)
    assert "strict" not in groq["response_format"]["json_schema"]


def test_json_and_md_json_modes() -> None:
    json_params = build_params(request(OutputMode.JSON), PRESETS["openai"], stream=False)
    assert json_params["response_format"] == {"type": "json_object"}
    lmstudio = build_params(request(OutputMode.JSON), PRESETS["lmstudio"], stream=False)
    assert lmstudio["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "json_object", "schema": {"type": "object"}},
    }  # LM Studio rejects {"type": "json_object"}
    md = build_params(request(OutputMode.MD_JSON), PRESETS["openai"], stream=False)
    assert "response_format" not in md and "tools" not in md


def test_unsupported_mode_is_refused_by_the_plan_listing_supported_ones() -> None:
    """The plan resolves and checks the mode (the wire only translates)."""
    deepseek = create_provider("deepseek", api_key=KEY)
    builder = StructuredOutput().with_provider(deepseek).with_(messages="hi", response_model=SCHEMA)
    with pytest.raises(UnsupportedModeError, match="json_schema") as info:
        builder.with_output_mode(OutputMode.JSON_SCHEMA).plan()
    assert "tools" in str(info.value)
    with pytest.raises(UnsupportedModeError):
        builder.with_provider(provider_for("openai")).with_output_mode(OutputMode.GRAMMAR).plan()


def provider_for(preset: str) -> Any:
    return create_provider(preset, api_key=KEY)


def test_the_plan_resolves_model_and_tool_and_the_wire_requires_them() -> None:
    plan = (
        StructuredOutput()
        .with_provider(create_provider("openai", api_key=KEY, model="gpt-default"))
        .with_(messages="hi", response_model=SCHEMA, mode="tools")
        .plan()
    )
    assert plan.request.model == "gpt-default"
    assert plan.request.tool is not None and plan.request.tool.parameters == plan.request.response_schema
    params = build_params(plan.request, PRESETS["openai"], stream=False)
    assert params["model"] == "gpt-default"
    with pytest.raises(ConfigurationError, match="with_model"):
        build_params(request(model=None), PRESETS["openai"], stream=False)
    with pytest.raises(ConfigurationError, match=r"request\.tool"):
        build_params(request(tool=None), PRESETS["openai"], stream=False)


def test_options_known_and_extra_and_stream_usage() -> None:
    req = request(options={"temperature": 0, "seed": 1, "top_k": 5, "strict": False})
    params = build_params(req, PRESETS["openai"], stream=True)
    assert params["temperature"] == 0 and params["seed"] == 1
    assert params["extra_body"] == {"top_k": 5}
    assert params["stream"] is True and params["stream_options"] == {"include_usage": True}
    llama = build_params(req, PRESETS["llamacpp-server"], stream=True)
    assert "stream_options" not in llama


def test_strict_compatibility_check() -> None:
    assert is_strict_compatible(STRICT_SCHEMA)
    assert not is_strict_compatible(SCHEMA)
    nested = {**STRICT_SCHEMA, "properties": {"pet": {"type": "object", "properties": {"x": {}}}}}
    nested["required"] = ["pet"]
    assert not is_strict_compatible(nested)


# --- over the wire ----------------------------------------------------------------------------


def test_infer_tool_call_and_usage(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(openai_chat(tool_args='{"name": "Jason", "age": 25}', usage=(12, 7)))])
    response = provider(scripted_server).infer(request(model="gpt-test", options={"temperature": 0}))
    assert response.output_text(OutputMode.TOOLS) == '{"name": "Jason", "age": 25}'
    assert response.tool_calls[0].name == "response"
    assert response.usage == Usage(12, 7)
    assert response.finish_reason == "tool_calls"
    sent = scripted_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json["model"] == "gpt-test" and sent.json["temperature"] == 0
    assert sent.json["tool_choice"]["function"]["name"] == "User"


def test_infer_text_content(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(openai_chat('{"a": "}"}'))])
    response = provider(scripted_server).infer(request(OutputMode.JSON))
    assert response.content == '{"a": "}"}'
    assert response.output_text(OutputMode.JSON) == '{"a": "}"}'


TRICKY = 'Zoë said "héllo \\u00e9" — 日本語 🎉 {"k": "\\n"}'


def collect(deltas: list[InferenceDelta]) -> tuple[str, str, list[str | None], Usage | None]:
    text = "".join(d.content for d in deltas)
    args = "".join(d.tool_arguments for d in deltas)
    finish = [d.finish_reason for d in deltas if d.finish_reason]
    usage = next((d.usage for d in reversed(deltas) if d.usage), None)
    return text, args, finish, usage


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_tiny_chunks_reassemble_exactly(scripted_server: ScriptedServer, seed: int) -> None:
    args = json.dumps({"name": TRICKY, "age": 25}, ensure_ascii=True)
    scripted_server.script(
        [
            Reply.sse(openai_stream(TRICKY, piece=2), chunk_sizes=(1, 7), seed=seed),
            Reply.sse(openai_stream(tool_args=args, piece=3), chunk_sizes=(1, 7), seed=seed),
        ]
    )
    driver = provider(scripted_server)
    text, _, finish, usage = collect(list(driver.stream(request(OutputMode.JSON))))
    assert text == TRICKY and finish == ["stop"] and usage == Usage(10, 5)
    deltas = list(driver.stream(request()))
    _, got_args, finish, _ = collect(deltas)
    assert got_args == args and finish == ["tool_calls"]
    assert deltas[0].tool_name == "response" and deltas[0].tool_call_id == "call_abc123"
    assert scripted_server.requests[0].json["stream_options"] == {"include_usage": True}


def test_stream_cut_midway_is_interrupted(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.sse(openai_stream("x" * 200), cut_after=150)])
    with pytest.raises(StreamInterruptedError, match="openai"):
        list(provider(scripted_server).stream(request(OutputMode.JSON)))


def test_stream_without_finish_is_interrupted(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.sse(openai_stream("abc", finish=False, done=False))])
    with pytest.raises(StreamInterruptedError, match="finish_reason"):
        list(provider(scripted_server).stream(request(OutputMode.JSON)))


def test_error_event_inside_stream(scripted_server: ScriptedServer) -> None:
    events = [*openai_stream("ab", finish=False, done=False), {"error": {"message": "boom", "type": "server_error"}}]
    scripted_server.script([Reply.sse(events)])
    with pytest.raises(ServerError, match="boom"):
        list(provider(scripted_server).stream(request(OutputMode.JSON)))


@pytest.mark.parametrize(
    ("status", "error", "headers"),
    [
        (429, RateLimitError, {"Retry-After": "2"}),
        (500, ServerError, {}),
        (503, ServerError, {}),
        (408, ServerError, {}),
        (409, ServerError, {}),
        (401, AuthenticationError, {}),
        (403, PermissionDeniedError, {}),
        (404, NotFoundError, {}),
        (400, BadRequestError, {}),
    ],
)
def test_status_codes_map_to_typed_errors(
    scripted_server: ScriptedServer, status: int, error: type[Exception], headers: dict[str, str]
) -> None:
    scripted_server.script([Reply.error(status, f"Incorrect API key provided: {KEY}", headers=headers)] * 2)
    driver = provider(scripted_server)
    with pytest.raises(error) as info:
        driver.infer(request())
    assert KEY not in str(info.value) and "sk-test" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert getattr(info.value, "status", None) == status
    if status == 429:
        assert info.value.retry_after == 2.0  # type: ignore[attr-defined]
    if status == 401:
        assert "OPENAI_API_KEY" in str(info.value)
    with pytest.raises(error):  # streaming requests map the same way
        list(driver.stream(request()))
    assert len(scripted_server.requests) == 2  # max_retries=0: the SDK never retried by itself


def test_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(openai_chat("{}"), delay=1.0)])
    with pytest.raises(ProviderTimeoutError, match=r"timed out after 0\.2s"):
        provider(scripted_server, timeout=0.2).infer(request())


def test_connection_refused() -> None:
    driver = create_provider("openai", api_key=KEY, base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ProviderConnectionError, match="Check that the server is running"):
        driver.infer(request())


def test_repr_hides_key(scripted_server: ScriptedServer) -> None:
    text = repr(provider(scripted_server))
    assert KEY not in text and "api_key='***'" in text


async def test_async_infer_and_stream(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [
            Reply.json(openai_chat(tool_args='{"name": "A", "age": 1}')),
            Reply.sse(openai_stream(TRICKY), chunk_sizes=(1, 5)),
            Reply.error(429, headers={"Retry-After": "1"}),
            Reply.sse(openai_stream("abc"), cut_after=40),
        ]
    )
    driver = provider(scripted_server)
    response = await driver.ainfer(request())
    assert response.tool_calls[0].arguments == '{"name": "A", "age": 1}'
    deltas = [d async for d in driver.astream(request(OutputMode.JSON))]
    assert collect(deltas)[0] == TRICKY
    with pytest.raises(RateLimitError) as info:
        await driver.ainfer(request())
    assert info.value.retry_after == 1.0
    with pytest.raises(StreamInterruptedError):
        [d async for d in driver.astream(request(OutputMode.JSON))]


def test_tool_name_and_id_reported_once_even_if_repeated() -> None:
    from instructor_py.providers.http_errors import ErrorContext
    from instructor_py.providers.openai_wire import ChunkMapper
    from tests.support.servers.scripted import encode_sse

    def chunk(args: str, finish: str | None = None) -> dict[str, Any]:
        call = {"index": 0, "id": "call_1", "function": {"name": "User", "arguments": args}}
        return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": finish}]}

    mapper = ChunkMapper(ErrorContext(provider="llamacpp-server", api_key_env=None, base_url="x"))
    deltas = mapper.feed(encode_sse([chunk('{"a"'), chunk(": 1}"), chunk("", "tool_calls"), "[DONE]"]))
    deltas += mapper.close()
    assert [(d.tool_name, d.tool_call_id) for d in deltas] == [("User", "call_1"), (None, None), (None, None)]
    assert "".join(d.tool_arguments for d in deltas) == '{"a": 1}'


def test_stream_answered_with_a_json_error_body(scripted_server: ScriptedServer) -> None:
    body = json.dumps({"error": {"message": "model overloaded", "type": "server_error"}})
    scripted_server.script([Reply.raw(body, content_type="application/json"), Reply.raw("<html>hi</html>")])
    driver = provider(scripted_server)
    with pytest.raises(ServerError, match="model overloaded"):
        list(driver.stream(request(OutputMode.JSON)))
    with pytest.raises(ProviderError, match="without any server-sent event"):
        list(driver.stream(request(OutputMode.JSON)))


def test_prebuilt_sdk_client_never_retries_by_itself(scripted_server: ScriptedServer) -> None:
    import openai

    scripted_server.script([Reply.error(500, "boom"), Reply.json(openai_chat("{}"))])
    sdk = openai.OpenAI(api_key=KEY, base_url=scripted_server.openai_url, max_retries=5)
    driver = create_provider("openai", client=sdk, api_key=KEY, base_url=scripted_server.openai_url)
    with pytest.raises(ServerError):
        driver.infer(request(OutputMode.JSON))
    assert len(scripted_server.requests) == 1
