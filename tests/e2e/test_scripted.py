"""End to end through the public StructuredOutput API against the scripted loopback server, in
both wire formats (OpenAI chat completions and Anthropic messages)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from instructor_py import StructuredOutput, StructuredOutputRetryError, UnsupportedModeError, Usage
from instructor_py.common.errors import (
    AuthenticationError,
    MissingAPIKeyError,
    ProviderTimeoutError,
    ServerError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.run.events import Event, RetryScheduled
from tests.support.response_models import Adult
from tests.support.servers import Reply, ScriptedServer
from tests.support.wire_formats import ANTHROPIC, API_KEY, OPENAI, WIRES, Wire

pytestmark = pytest.mark.e2e

WIRE_IDS = [w.preset for w in WIRES]
MODES = [(w, m) for w in WIRES for m in w.modes]
MODE_IDS = [f"{w.preset}-{m.value}" for w, m in MODES]


class User(Adult):
    """The shared adult-age model, under the name its tests expect on the wire."""


GOOD = {"name": "Jason", "age": 25}
CHILD = {"name": "Jason", "age": 5}


def sent_messages(wire: Wire, body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["messages"])


@pytest.mark.parametrize(("wire", "mode"), MODES, ids=MODE_IDS)
def test_every_mode_returns_a_validated_object(
    scripted_server: ScriptedServer, wire: Wire, mode: OutputMode
) -> None:
    scripted_server.script([wire.answer(GOOD, mode)])
    user = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User, mode=mode).get()
    assert user == User(name="Jason", age=25)
    body = scripted_server.requests[0].json
    if mode is OutputMode.TOOLS:
        if wire is ANTHROPIC:
            assert body["tool_choice"] == {"type": "tool", "name": "User"}
            assert body["tools"][0]["input_schema"]["required"] == ["name", "age"]
        else:
            assert body["tool_choice"] == {"type": "function", "function": {"name": "User"}}
    elif mode is OutputMode.JSON_SCHEMA:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"]["required"] == ["name", "age"]
    elif mode is OutputMode.JSON and wire is OPENAI:
        assert body["response_format"] == {"type": "json_object"}
    if mode in (OutputMode.JSON, OutputMode.MD_JSON):
        system = body["system"] if wire is ANTHROPIC else body["messages"][0]["content"]
        assert '"age"' in system  # the schema travels in the system prompt
        assert "tools" not in body


def test_anthropic_json_schema_mode_is_refused_before_sending(scripted_server: ScriptedServer) -> None:
    client = ANTHROPIC.client(scripted_server).with_(messages="x", response_model=User, mode="json_schema")
    with pytest.raises(UnsupportedModeError, match="tools"):
        client.get()
    assert scripted_server.requests == []


@pytest.mark.parametrize(("wire", "mode"), MODES, ids=MODE_IDS)
def test_validation_failure_then_success_feeds_errors_back(
    scripted_server: ScriptedServer, wire: Wire, mode: OutputMode
) -> None:
    caller_messages = [{"role": "user", "content": "Jason is 25"}]
    before = copy.deepcopy(caller_messages)
    scripted_server.script([wire.answer(CHILD, mode, usage=(10, 5)), wire.answer(GOOD, mode, usage=(12, 6))])
    # the full feedback replays the conversation (tests/run/test_focused_retry.py: the default)
    result = (
        wire.client(scripted_server)
        .with_(messages=caller_messages, response_model=User, mode=mode, retry_feedback="full")
        .response()
    )
    assert result.value == User(name="Jason", age=25)
    assert result.usage == Usage(22, 11)
    assert [bool(a.errors) for a in result.attempts] == [True, False]
    assert caller_messages == before
    first, second = (r.json for r in scripted_server.requests)
    grown = sent_messages(wire, second)
    assert grown[: len(sent_messages(wire, first))] == sent_messages(wire, first)
    if wire is OPENAI and mode is OutputMode.TOOLS:
        assistant, tool, feedback = grown[-3:]
        assert assistant["role"] == "assistant"
        call = assistant["tool_calls"][0]
        assert call["function"]["arguments"] == '{"name": "Jason", "age": 5}'
        assert tool == {"role": "tool", "tool_call_id": call["id"], "content": tool["content"]}
        assert feedback["role"] == "user" and "at least 18" in feedback["content"]
    elif wire is ANTHROPIC and mode is OutputMode.TOOLS:
        assistant, user_turn = grown[-2:]
        assert assistant["role"] == "assistant"
        use = assistant["content"][0]
        assert use["type"] == "tool_use" and use["input"] == CHILD
        assert user_turn["role"] == "user"
        result_block, text_block = user_turn["content"]
        assert result_block["type"] == "tool_result" and result_block["tool_use_id"] == use["id"]
        assert "at least 18" in text_block["text"]
    else:
        assistant, feedback = grown[-2:]
        assert assistant["role"] == "assistant" and feedback["role"] == "user"
        feedback_text = feedback["content"] if isinstance(feedback["content"], str) else feedback["content"][0]["text"]
        assert "at least 18" in feedback_text


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_retries_exhausted_carries_every_attempt(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([wire.answer(CHILD, OutputMode.TOOLS, usage=(10, 5 + i)) for i in range(3)])
    client = wire.client(scripted_server).with_(messages="Jason is 5", response_model=User, max_retries=2)
    with pytest.raises(StructuredOutputRetryError) as info:
        client.get()
    error = info.value
    assert len(error.attempts) == 3 and len(scripted_server.requests) == 3
    assert all("at least 18" in " ".join(a.errors) for a in error.attempts)
    assert error.usage == Usage(30, 18)
    assert "at least 18" in str(error)


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_rate_limit_with_retry_after_then_success(scripted_server: ScriptedServer, wire: Wire) -> None:
    events: list[RetryScheduled] = []
    scripted_server.script(
        [Reply.error(429, "slow down", headers={"Retry-After": "0.3"}), wire.answer(GOOD, OutputMode.TOOLS)]
    )
    client = (
        wire.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .on_event(RetryScheduled, events.append)
    )
    assert client.get() == User(name="Jason", age=25)
    assert len(scripted_server.requests) == 2
    assert scripted_server.requests[0].json == scripted_server.requests[1].json  # same request resent
    assert [(e.kind, e.delay) for e in events] == [("transport", 0.3)]


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_server_errors_until_transport_retries_run_out(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([Reply.error(500, "boom")] * 3 + [wire.answer(GOOD, OutputMode.TOOLS)])
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User)
    with pytest.raises(ServerError) as info:
        client.get()
    assert info.value.status == 500
    assert len(scripted_server.requests) == 3  # 1 try + FAST_TRANSPORT.max_retries (2)


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_unauthorized_fails_at_once_naming_the_variable(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([Reply.error(401, f"Incorrect API key provided: {API_KEY}")] * 3)
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User)
    with pytest.raises(AuthenticationError, match=wire.key_env) as info:
        client.get()
    assert API_KEY not in str(info.value)
    assert len(scripted_server.requests) == 1


def test_missing_key_is_reported_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    client = StructuredOutput().using("anthropic").with_(messages="x", response_model=User)
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        client.get()


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_timeout_is_retried_then_reported(scripted_server: ScriptedServer, wire: Wire) -> None:
    slow = Reply(**{**wire.answer(GOOD, OutputMode.TOOLS).__dict__, "delay": 1.0})
    scripted_server.script([slow, wire.answer(GOOD, OutputMode.TOOLS)])
    client = wire.client(scripted_server, timeout=0.25).with_(messages="Jason is 25", response_model=User)
    assert client.get() == User(name="Jason", age=25)
    scripted_server.script([slow] * 3)
    with pytest.raises(ProviderTimeoutError, match="timed out"):
        client.get()


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_non_json_output_is_fed_back_then_reported(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([wire.text("I cannot help with that."), wire.answer(GOOD, OutputMode.JSON)])
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User, mode="json")
    assert client.get() == User(name="Jason", age=25)
    scripted_server.script([wire.text("no json here")])
    with pytest.raises(StructuredOutputRetryError) as info:
        client.with_max_retries(0).get()
    assert info.value.attempts[0].content == "no json here"
    assert info.value.attempts[0].stage is not None


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
@pytest.mark.parametrize("mode", [OutputMode.JSON, OutputMode.MD_JSON], ids=["json", "md_json"])
def test_json_in_a_markdown_fence_and_brace_in_string(
    scripted_server: ScriptedServer, wire: Wire, mode: OutputMode
) -> None:
    scripted_server.script(
        [
            wire.text('Sure!\n```json\n{"name": "Ja}son {x}", "age": 25}\n```\nAnything else?'),
            wire.text('The answer is {"name": "a}b\\"}", "age": 30} -- done {not json}'),
        ]
    )
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User, mode=mode)
    assert client.get() == User(name="Ja}son {x}", age=25)
    assert client.get() == User(name='a}b"}', age=30)


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
async def test_async_get_with_retries(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script(
        [
            Reply.error(429, headers={"Retry-After": "0"}),
            wire.answer(CHILD, OutputMode.TOOLS),
            Reply.error(503),
            wire.answer(GOOD, OutputMode.TOOLS),
        ]
    )
    result = await wire.client(scripted_server).with_(messages="Jason is 25", response_model=User).aresponse()
    assert result.value == User(name="Jason", age=25)
    assert len(result.attempts) == 2 and len(scripted_server.requests) == 4


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_api_key_never_in_logs_events_errors_or_reprs(
    scripted_server: ScriptedServer, wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Event] = []
    scripted_server.script(
        [
            Reply.error(429, f"key {API_KEY} throttled", headers={"Retry-After": "0"}),
            wire.answer(CHILD, OutputMode.TOOLS),
            wire.answer(CHILD, OutputMode.TOOLS),
            Reply.error(401, f"Incorrect API key provided: {API_KEY}"),
        ]
    )
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User, max_retries=1).wiretap(seen.append)
    texts: list[str] = [repr(client), repr(client.resolve_provider()), repr(client.create())]
    with caplog.at_level(logging.DEBUG, logger="instructor_py"):
        with pytest.raises(StructuredOutputRetryError) as retry_error:
            client.get()
        with pytest.raises(AuthenticationError) as auth_error:
            client.get()
    texts += [str(retry_error.value), repr(retry_error.value.attempts), str(auth_error.value)]
    texts += [repr(event) for event in seen]
    texts += [record.getMessage() for record in caplog.records]
    assert seen and caplog.records
    assert scripted_server.requests[0].headers.get("authorization", scripted_server.requests[0].headers.get("x-api-key", "")).endswith(API_KEY)
    for text in texts:
        assert API_KEY not in text
        assert "SECRET" not in text


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_async_works_across_event_loops(scripted_server: ScriptedServer, wire: Wire) -> None:
    """The same builder (and cached driver) used from two ``asyncio.run`` calls: the second loop
    must not reuse the first loop's connection pool."""
    import asyncio

    scripted_server.script([], default=wire.answer(GOOD, OutputMode.TOOLS))
    client = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User)
    for _ in range(2):
        assert asyncio.run(client.aget()) == User(name="Jason", age=25)
    assert len(scripted_server.requests) == 2


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_connection_refused_is_retried_then_reported(wire: Wire) -> None:
    from instructor_py.common.errors import ProviderConnectionError
    from tests.support.servers.llama import free_port

    dead = ScriptedServer(port=free_port())
    dead.stop()  # never started, socket closed: connections to its port are refused
    events: list[RetryScheduled] = []
    client = (
        wire.client(dead)
        .with_(messages="Jason is 25", response_model=User)
        .on_event(RetryScheduled, events.append)
    )
    with pytest.raises(ProviderConnectionError, match="Check that the server is running"):
        client.get()
    assert [e.kind for e in events] == ["transport", "transport"]
