"""Azure OpenAI through the official SDK's AzureOpenAI / AsyncAzureOpenAI clients, against the
loopback server (the wire checks quote Azure's REST reference in tests/support/vendors/azure.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import (
    AuthenticationError,
    ConfigurationError,
    MissingAPIKeyError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.azure import DEFAULT_API_VERSION, AzureOpenAIProvider
from instructor_py.providers.registry import create_provider
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.servers.wire import openai_chat, openai_stream
from tests.support.vendors import Reply, ScriptedServer
from tests.support.vendors.azure import check_azure_request

KEY = "azure-key-SECRET-0123456789abcdef"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.entra-SECRET-token"
ANSWER = {"name": "Jason", "age": 25}


class User(BaseModel):
    name: str
    age: int


def azure(server: ScriptedServer, **kw: Any) -> StructuredOutput[Any]:
    kw.setdefault("api_key", KEY)
    return StructuredOutput().using(
        "azure", endpoint=server.url, deployment="gpt-4o-prod", api_version="2024-10-21", **kw
    )


def reply_for(mode: OutputMode) -> Reply:
    text = json.dumps(ANSWER)
    if mode is OutputMode.TOOLS:
        return Reply.json(openai_chat(tool_args=text, tool_name="User"))
    if mode is OutputMode.MD_JSON:
        return Reply.json(openai_chat(f"Sure:\n```json\n{text}\n```"))
    return Reply.json(openai_chat(text))


@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON])
def test_every_mode_end_to_end(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script([reply_for(mode)])
    user = (
        azure(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_output_mode(mode)
        .get()
    )
    assert user == User(**ANSWER)
    sent = scripted_server.requests[-1]
    check_azure_request(sent, deployment="gpt-4o-prod", api_version="2024-10-21", api_key=KEY)
    body = sent.json
    if mode is OutputMode.TOOLS:
        assert body["tools"][0]["function"]["name"] == "User"
        assert body["tool_choice"] == {"type": "function", "function": {"name": "User"}}
    elif mode is OutputMode.JSON_SCHEMA:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"]["required"] == ["name", "age"]
    elif mode is OutputMode.JSON:
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert "response_format" not in body and "tools" not in body


def test_entra_token_provider_is_called_per_request(scripted_server: ScriptedServer) -> None:
    calls: list[int] = []

    def token_provider() -> str:
        calls.append(1)
        return TOKEN

    scripted_server.script([reply_for(OutputMode.TOOLS), reply_for(OutputMode.TOOLS)])
    builder = azure(scripted_server, api_key=None, azure_ad_token_provider=token_provider).with_(
        messages="Jason is 25", response_model=User
    )
    assert builder.get() == User(**ANSWER)
    assert builder.get() == User(**ANSWER)
    for sent in scripted_server.requests:
        check_azure_request(sent, deployment="gpt-4o-prod", api_version="2024-10-21", token=TOKEN)
    assert len(calls) == 2
    assert TOKEN not in repr(builder.resolve_provider())


def test_stream_partials_and_usage(scripted_server: ScriptedServer) -> None:
    text = json.dumps(ANSWER)
    scripted_server.script([Reply.sse(openai_stream(tool_args=text, tool_name="User", usage=(31, 9)), seed=3)])
    stream = azure(scripted_server).with_(messages="Jason is 25", response_model=User).stream()
    partials = list(stream.partials())
    assert partials and stream.final_value() == User(**ANSWER)
    body = scripted_server.requests[0].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert stream.final_response().usage.input_tokens == 31


async def test_async_client_and_default_api_version(scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    scripted_server.script([reply_for(OutputMode.JSON)])
    builder = StructuredOutput().using(
        "azure", endpoint=scripted_server.url, model="gpt-4o-prod", api_key=KEY, mode="json"
    )
    user = await builder.with_(messages="Jason is 25", response_model=User).aget()
    assert user == User(**ANSWER)
    check_azure_request(
        scripted_server.requests[0], deployment="gpt-4o-prod", api_version=DEFAULT_API_VERSION, api_key=KEY
    )


def test_faults_are_typed_and_secret_free(scripted_server: ScriptedServer) -> None:
    driver = create_provider(
        "azure", endpoint=scripted_server.url, deployment="d", api_key=KEY, api_version="2024-10-21"
    )
    assert isinstance(driver, AzureOpenAIProvider) and KEY not in repr(driver)
    builder = StructuredOutput().with_provider(driver).with_(messages="hi", response_model=User)
    scripted_server.script([Reply.error(429, headers={"Retry-After": "0"}), Reply.error(503), reply_for(OutputMode.TOOLS)])
    assert builder.get() == User(**ANSWER)  # 429 and 503 retried by the transport policy
    assert len(scripted_server.requests) == 3
    scripted_server.script([Reply.error(429, f"slow down {KEY}", headers={"Retry-After": "7"})])
    with pytest.raises(RateLimitError) as info:
        builder.with_transport_retry_policy(TransportRetryPolicy(max_retries=0)).get()
    assert info.value.retry_after == 7 and KEY not in str(info.value)
    scripted_server.script([Reply.error(401, "Access denied due to invalid subscription key.")])
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        builder.get()


def test_cut_stream_is_interrupted(scripted_server: ScriptedServer) -> None:
    driver = create_provider("azure", endpoint=scripted_server.url, deployment="d", api_key=KEY)
    events = openai_stream(tool_args=json.dumps(ANSWER), tool_name="User")
    full = Reply.sse(events)
    scripted_server.script([Reply.sse(events, cut_after=len(full.body) // 2)])
    plan = StructuredOutput().with_provider(driver).with_(messages="hi", response_model=User).plan()
    with pytest.raises(StreamInterruptedError):
        list(driver.stream(plan.request))


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingAPIKeyError, match="AZURE_OPENAI_API_KEY"):
        create_provider("azure", endpoint="https://r.openai.azure.com", deployment="d")
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        create_provider("azure", deployment="d", api_key=KEY)
    with pytest.raises(ConfigurationError, match="deployment name"):
        create_provider("azure", endpoint="https://r", deployment="a", model="b", api_key=KEY)
    with pytest.raises(ConfigurationError, match="callable"):
        create_provider("azure", endpoint="https://r", deployment="a", azure_ad_token_provider="tok")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com")
    driver = create_provider("azure/gpt-4o-prod")
    assert driver.default_model == "gpt-4o-prod" and KEY not in repr(driver)


def test_reasoning_tokens_are_reported(scripted_server: ScriptedServer) -> None:
    body = openai_chat(tool_args=json.dumps(ANSWER), tool_name="User", usage=(40, 300))
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 256}
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 32}
    scripted_server.script([Reply.json(body)])
    response = azure(scripted_server).with_(messages="Jason is 25", response_model=User, check_stream=False).response()
    assert response.usage == Usage(input_tokens=40, output_tokens=300, cache_read_tokens=32, reasoning_tokens=256)


def test_a_prebuilt_azure_client_is_used_without_its_retries(scripted_server: ScriptedServer) -> None:
    import openai

    client = openai.AzureOpenAI(
        azure_endpoint=scripted_server.url, azure_deployment="dep", api_version="2024-10-21", api_key=KEY, max_retries=5
    )
    scripted_server.script([Reply.error(503)])
    builder = StructuredOutput().using("azure", client=client, deployment="dep").with_(messages="hi", response_model=User)
    with pytest.raises(ServerError):
        builder.with_transport_retry_policy(TransportRetryPolicy(max_retries=0)).get()
    assert len(scripted_server.requests) == 1  # the SDK's max_retries=5 was turned off
    check_azure_request(scripted_server.requests[0], deployment="dep", api_version="2024-10-21", api_key=KEY)
