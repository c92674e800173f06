"""The Anthropic Messages driver against the scripted loopback server (real sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from instructor_py import StructuredOutput
from instructor_py.common.errors import (
    AuthenticationError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    UnsupportedModeError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.anthropic_wire import build_body, convert_messages
from instructor_py.providers.base import InferenceRequest, ToolSpec
from instructor_py.providers.presets import PRESETS
from instructor_py.providers.registry import create_provider
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers.wire import anthropic_message, anthropic_stream

KEY = "sk-ant-api03-SECRET-abcdef"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
RETRY_MESSAGES = (
    {"role": "system", "content": "You extract users."},
    {"role": "user", "content": "Jason is 25"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "User", "arguments": '{"name": "Jason"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "toolu_1", "content": "age: field required"},
    {"role": "user", "content": "Fix the errors and call the tool again."},
)


def request(mode: OutputMode = OutputMode.TOOLS, messages: Any = RETRY_MESSAGES[:2], **kw: Any) -> InferenceRequest:
    """A request as build_plan resolves it: with a model, and a tool in TOOLS mode."""
    kw.setdefault("model", "claude")
    if mode is OutputMode.TOOLS:
        kw.setdefault("tool", ToolSpec(name="User", description="Respond with a User object.", parameters=SCHEMA))
    return InferenceRequest(messages=tuple(messages), mode=mode, response_schema=SCHEMA, schema_name="User", **kw)


def provider(server: ScriptedServer, **kw: Any) -> Any:
    return create_provider("anthropic", api_key=KEY, base_url=server.url, **kw)


def test_messages_conversion_for_a_tools_retry() -> None:
    system, messages = convert_messages(RETRY_MESSAGES)
    assert system == "You extract users."
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "Jason is 25"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "User", "input": {"name": "Jason"}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "age: field required"},
                {"type": "text", "text": "Fix the errors and call the tool again."},
            ],
        },
    ]


def test_image_parts_are_converted() -> None:
    parts = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    _, messages = convert_messages([{"role": "user", "content": parts}])
    blocks = messages[0]["content"]
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": "AAAA"}
    assert blocks[2]["source"] == {"type": "url", "url": "https://example.com/a.png"}


def test_body_per_mode() -> None:
    tools = build_body(request(options={"max_tokens": 50, "seed": 3, "stop": ["x"]}), PRESETS["anthropic"], stream=True)
    assert tools["tools"] == [{"name": "User", "description": "Respond with a User object.", "input_schema": SCHEMA}]
    assert tools["tool_choice"] == {"type": "tool", "name": "User"}
    assert tools["max_tokens"] == 50 and tools["stop_sequences"] == ["x"] and "seed" not in tools
    assert tools["stream"] is True
    for mode in (OutputMode.JSON, OutputMode.MD_JSON):
        body = build_body(request(mode), PRESETS["anthropic"], stream=False)
        assert "tools" not in body and "tool_choice" not in body
    anthropic = create_provider("anthropic", api_key=KEY)
    builder = StructuredOutput().with_provider(anthropic).with_(messages="hi", response_model=SCHEMA)
    with pytest.raises(UnsupportedModeError, match="tools"):  # refused by the plan
        builder.with_output_mode(OutputMode.JSON_SCHEMA).plan()


def test_infer_tool_use(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(anthropic_message(tool_input={"name": "Jason", "age": 25}, usage=(20, 9)))])
    response = provider(scripted_server).infer(request(messages=RETRY_MESSAGES))
    assert json.loads(response.output_text(OutputMode.TOOLS)) == {"name": "Jason", "age": 25}
    assert response.usage == Usage(20, 9) and response.finish_reason == "tool_calls"
    sent = scripted_server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json["system"] == "You extract users."
    assert [m["role"] for m in sent.json["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("seed", [0, 5])
def test_stream_text_and_tool_json(scripted_server: ScriptedServer, seed: int) -> None:
    text = 'Here: ```json\n{"name": "Zoë 🎉 \\u00e9", "age": 3}\n```'
    tool_json = json.dumps({"name": "日本 \"q\"", "age": 7})
    scripted_server.script(
        [
            Reply.sse(anthropic_stream(text), chunk_sizes=(1, 7), seed=seed),
            Reply.sse(anthropic_stream(tool_json=tool_json, usage=(11, 4)), chunk_sizes=(1, 7), seed=seed),
        ]
    )
    driver = provider(scripted_server)
    deltas = list(driver.stream(request(OutputMode.MD_JSON)))
    assert "".join(d.content for d in deltas) == text
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"]
    deltas = list(driver.stream(request()))
    assert "".join(d.tool_arguments for d in deltas) == tool_json
    assert deltas[0].raw["type"] == "message_start"  # the envelope (id, model) comes first
    opening = next(d for d in deltas if d.tool_name or d.tool_call_id)
    assert opening.tool_name == "response" and opening.tool_call_id == "toolu_01"
    assert deltas[-1].usage == Usage(11, 4) and deltas[-1].finish_reason == "tool_calls"


def test_stream_cut_and_error_event(scripted_server: ScriptedServer) -> None:
    overloaded = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    scripted_server.script(
        [
            Reply.sse(anthropic_stream("x" * 100), cut_after=300),
            Reply.sse([*anthropic_stream("ab", finish=False), overloaded]),
            Reply.sse(anthropic_stream("ab", finish=False)),
        ]
    )
    driver = provider(scripted_server)
    with pytest.raises(StreamInterruptedError):
        list(driver.stream(request(OutputMode.JSON)))
    with pytest.raises(ServerError, match="Overloaded"):
        list(driver.stream(request(OutputMode.JSON)))
    with pytest.raises(StreamInterruptedError, match="stop_reason"):
        list(driver.stream(request(OutputMode.JSON)))


def test_errors(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [
            Reply.error(401, f"invalid x-api-key {KEY}", kind="authentication_error"),
            Reply.error(429, "slow down", kind="rate_limit_error", headers={"retry-after": "3"}),
            Reply.error(529, "Overloaded", kind="overloaded_error"),
            Reply.error(429, headers={"retry-after": "1"}),
            Reply.json(anthropic_message("{}"), delay=1.0),
        ]
    )
    driver = provider(scripted_server)
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY") as auth:
        driver.infer(request())
    assert KEY not in str(auth.value)
    with pytest.raises(RateLimitError) as limited:
        driver.infer(request())
    assert limited.value.retry_after == 3.0
    with pytest.raises(ServerError):
        driver.infer(request())
    with pytest.raises(RateLimitError):
        list(driver.stream(request()))
    with pytest.raises(ProviderTimeoutError):
        provider(scripted_server, timeout=0.2).infer(request())
    assert KEY not in repr(driver)


async def test_async_twins(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [
            Reply.json(anthropic_message(tool_input={"name": "A", "age": 1})),
            Reply.sse(anthropic_stream(tool_json='{"name": "B", "age": 2}'), chunk_sizes=(1, 3)),
            Reply.error(500, "oops"),
        ]
    )
    driver = provider(scripted_server)
    response = await driver.ainfer(request())
    assert json.loads(response.tool_calls[0].arguments) == {"name": "A", "age": 1}
    deltas = [d async for d in driver.astream(request())]
    assert "".join(d.tool_arguments for d in deltas) == '{"name": "B", "age": 2}'
    with pytest.raises(ServerError):
        [d async for d in driver.astream(request())]


async def test_close_and_reuse(scripted_server: ScriptedServer) -> None:
    scripted_server.script([], default=Reply.json(anthropic_message(tool_input={"name": "A", "age": 1})))
    for preset, url in (("anthropic", scripted_server.url), ("openai", scripted_server.openai_url)):
        driver = create_provider(preset, api_key=KEY, base_url=url)
        if preset == "openai":
            from tests.support.servers.wire import openai_chat

            scripted_server.script([], default=Reply.json(openai_chat(tool_args='{"name": "A", "age": 1}')))
        assert (await driver.ainfer(request())).tool_calls
        await driver.aclose()
        assert (await driver.ainfer(request())).tool_calls  # a fresh client after aclose
        driver.infer(request())
        driver.close()
        assert driver.infer(request()).tool_calls
