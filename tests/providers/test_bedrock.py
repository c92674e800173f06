"""Amazon Bedrock (Converse / ConverseStream) through boto3 against the loopback double of
tests/support/vendors/bedrock.py: boto3 signs with SigV4 for real (verified on the server) and
parses the binary event stream the double frames with CRCs."""

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
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    StructuredOutputRetryError,
    UnsupportedModeError,
)
from instructor_py.common.modes import OutputMode
from instructor_py.common.usage import Usage
from instructor_py.providers.registry import create_provider
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.vendors import ScriptedServer
from tests.support.vendors import bedrock as b

pytest.importorskip("boto3", reason="the optional 'bedrock' extra (boto3) is not installed")

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
ANSWER = {"name": "Jason", "age": 25}
NO_RETRY = TransportRetryPolicy(max_retries=0)


class User(BaseModel):
    name: str
    age: int


def bedrock(server: ScriptedServer, **kw: Any) -> StructuredOutput[Any]:
    return StructuredOutput().using(
        f"bedrock/{MODEL}",
        region=b.REGION,
        base_url=server.url,
        aws_access_key_id=b.ACCESS_KEY,
        aws_secret_access_key=b.SECRET_KEY,
        **kw,
    )


def host(server: ScriptedServer) -> str:
    return server.url.removeprefix("http://")


def reply_for(mode: OutputMode, **kw: Any) -> b.BedrockReply:
    text = json.dumps(ANSWER)
    if mode is OutputMode.TOOLS:
        return b.answer(b.converse(tool=("User", ANSWER), **kw))
    if mode is OutputMode.MD_JSON:
        return b.answer(b.converse(f"Here it is:\n```json\n{text}\n```", **kw))
    return b.answer(b.converse(text, **kw))


def test_event_stream_encoder_round_trips_with_crcs() -> None:
    data = b.stream_events(b.converse(tool=("User", ANSWER)))
    messages = b.decode_messages(data)
    assert [h[":event-type"] for h, _ in messages][:2] == ["messageStart", "contentBlockStart"]
    assert json.loads(messages[-1][1])["usage"]["inputTokens"] == 21
    corrupted = bytearray(data)
    corrupted[20] ^= 0xFF
    with pytest.raises(AssertionError):
        b.decode_messages(bytes(corrupted))


@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON])
def test_every_mode_end_to_end(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script([reply_for(mode, tokens=b.usage(30, 12, cache_read=8, cache_write=4))])
    response = (
        bedrock(scripted_server)
        .with_(messages=[{"role": "system", "content": "Extract users."}, {"role": "user", "content": "Jason is 25"}], response_model=User)
        .with_output_mode(mode)
        .with_options(max_tokens=300, temperature=0.2, stop="END", top_k=5)
        .response()
    )
    assert response.value == User(**ANSWER)
    assert response.usage == Usage(30, 12, cache_read_tokens=8, cache_write_tokens=4)
    sent = scripted_server.requests[0]
    b.check_sigv4(sent, host=host(scripted_server))
    body = b.check_converse_request(sent, model=MODEL, stream=True)  # get() streams: ConverseStream
    assert body["system"][0]["text"].startswith("Extract users.")
    assert body["messages"][0] == {"role": "user", "content": [{"text": "Jason is 25"}]}
    assert body["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.2, "stopSequences": ["END"]}
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    if mode is OutputMode.TOOLS:
        spec = body["toolConfig"]["tools"][0]["toolSpec"]
        assert spec["name"] == "User" and spec["inputSchema"]["json"]["required"] == ["name", "age"]
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "User"}}
    else:
        assert "toolConfig" not in body
        assert "name" in body["system"][0]["text"] or "name" in json.dumps(body["messages"])  # the schema, in the prompt
    assert response.raw_response["stopReason"] == ("tool_use" if mode is OutputMode.TOOLS else "end_turn")


def test_json_schema_mode_is_refused_before_sending(scripted_server: ScriptedServer) -> None:
    with pytest.raises(UnsupportedModeError):
        bedrock(scripted_server).with_(messages="x", response_model=User).with_output_mode("json_schema").get()
    assert scripted_server.requests == []


def test_whole_answer_through_converse(scripted_server: ScriptedServer) -> None:
    scripted_server.script([reply_for(OutputMode.TOOLS)])
    driver = bedrock(scripted_server).resolve_provider()
    plan = bedrock(scripted_server).with_(messages="Jason is 25", response_model=User).plan()
    response = driver.infer(plan.request)
    assert json.loads(response.output_text(OutputMode.TOOLS)) == ANSWER and response.finish_reason == "tool_calls"
    assert response.tool_calls[0].id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    b.check_converse_request(scripted_server.requests[0], model=MODEL, stream=False)
    b.check_sigv4(scripted_server.requests[0], host=host(scripted_server))
    with pytest.raises(AssertionError, match="does not verify"):  # the check can fail
        b.check_sigv4(scripted_server.requests[0], host=host(scripted_server), secret_key="wrong")


def test_retry_feedback_is_tool_use_and_tool_result(scripted_server: ScriptedServer) -> None:
    scripted_server.script([b.answer(b.converse(tool=("User", {"name": "Jason", "age": "old"}))), reply_for(OutputMode.TOOLS)])
    user = bedrock(scripted_server).with_(messages="Jason is 25", response_model=User, max_retries=1).get()
    assert user == User(**ANSWER)
    body = b.check_converse_request(scripted_server.requests[1], model=MODEL, stream=True)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    (use,) = b.blocks_of(body["messages"], "toolUse")
    assert use == {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "User", "input": {"name": "Jason", "age": "old"}}
    (result,) = b.blocks_of(body["messages"], "toolResult")
    assert result["toolUseId"] == use["toolUseId"] and result["content"][0]["text"]


@pytest.mark.parametrize("stop", ["guardrail_intervened", "content_filtered"])
def test_policy_stops_are_typed_errors(scripted_server: ScriptedServer, stop: str) -> None:
    scripted_server.script([b.answer(b.converse("I can't help with that.", stop=stop))])
    with pytest.raises(ContentFilteredError, match=stop) as info:
        bedrock(scripted_server).with_(messages="x", response_model=User, max_retries=2).get()
    assert info.value.reason == stop and len(scripted_server.requests) == 1


def test_max_tokens_is_a_cut_off_attempt(scripted_server: ScriptedServer) -> None:
    scripted_server.script([b.answer(b.converse('{"name": "Ja', stop="max_tokens"))])
    with pytest.raises(StructuredOutputRetryError, match="cut off by the token limit"):
        bedrock(scripted_server, mode="json").with_(messages="x", response_model=User, max_retries=0).get()


def test_throttling_server_errors_and_cut_streams_are_retried(scripted_server: ScriptedServer) -> None:
    body = b.converse(tool=("User", ANSWER))
    scripted_server.script(
        [
            b.error(429, "ThrottlingException", "Too many requests, please wait before trying again.", headers={"Retry-After": "0"}),
            b.error(503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
            b.answer(body, exception_at=4),  # throttlingException event mid-stream
            b.answer(body, stream_cut=0.5),  # the connection drops mid-frame
            b.answer(body),
        ]
    )
    policy = TransportRetryPolicy(max_retries=4, initial_delay=0.0)
    assert bedrock(scripted_server).with_(messages="x", response_model=User).with_transport_retry_policy(policy).get() == User(**ANSWER)
    assert len(scripted_server.requests) == 5
    for sent in scripted_server.requests:
        b.check_sigv4(sent, host=host(scripted_server))  # every resend is signed afresh


def test_fault_types_without_retries(scripted_server: ScriptedServer) -> None:
    builder = bedrock(scripted_server).with_(messages="x", response_model=User).with_transport_retry_policy(NO_RETRY)
    scripted_server.script([b.error(429, "ThrottlingException", "Too many requests", headers={"Retry-After": "3"})])
    with pytest.raises(RateLimitError, match="throttling") as info:
        builder.get()
    assert info.value.retry_after == 3 and b.SECRET_KEY not in str(info.value)
    assert len(scripted_server.requests) == 1  # boto3's own retries are off
    scripted_server.script([b.error(503, "ServiceUnavailableException", "try later")])
    with pytest.raises(ServerError):
        builder.get()
    assert len(scripted_server.requests) == 2  # one more: not retried by boto3 either
    scripted_server.script([b.answer(b.converse(tool=("User", ANSWER)), stream_cut=0.4)])
    with pytest.raises(StreamInterruptedError):
        builder.get()
    scripted_server.script([b.error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")])
    with pytest.raises(AuthenticationError, match="AWS credentials"):
        builder.get()
    scripted_server.script([b.error(404, "ResourceNotFoundException", "Model not found.")])
    with pytest.raises(NotFoundError):
        builder.get()


async def test_async_paths(scripted_server: ScriptedServer) -> None:
    scripted_server.script([reply_for(OutputMode.TOOLS), reply_for(OutputMode.TOOLS, tokens=b.usage(5, 6))])
    builder = bedrock(scripted_server).with_(messages="Jason is 25", response_model=User)
    assert await builder.aget() == User(**ANSWER)
    stream = builder.astream()
    partials = [p async for p in stream.partials()]
    assert partials and await stream.final_value() == User(**ANSWER)
    assert (await stream.final_response()).usage == Usage(5, 6)


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    regionless = create_provider("bedrock", model=MODEL, aws_access_key_id="A", aws_secret_access_key="B")
    request = StructuredOutput().with_provider(regionless).with_(messages="x", response_model=User).plan().request
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        regionless.infer(request)
    with pytest.raises(ConfigurationError, match="AWS_BEARER_TOKEN_BEDROCK"):
        create_provider("bedrock", model=MODEL, api_key="k")
    driver = create_provider(f"bedrock/{MODEL}", region="eu-west-1", aws_access_key_id=b.ACCESS_KEY, aws_secret_access_key=b.SECRET_KEY)
    assert driver.default_model == MODEL and b.SECRET_KEY not in repr(driver)


def test_cache_tells_regions_apart(scripted_server: ScriptedServer) -> None:
    from instructor_py.run.cache import MemoryCache

    cache = MemoryCache()
    scripted_server.script([reply_for(OutputMode.TOOLS), reply_for(OutputMode.TOOLS)])

    def call(region: str) -> Any:
        builder = StructuredOutput().using(
            f"bedrock/{MODEL}", region=region, base_url=scripted_server.url,
            aws_access_key_id=b.ACCESS_KEY, aws_secret_access_key=b.SECRET_KEY,
        )  # fmt: skip
        return builder.with_cache(cache).with_(messages="Jason is 25", response_model=User).response()

    assert not call("us-east-1").cache_hit and call("us-east-1").cache_hit
    assert not call("eu-west-1").cache_hit
    assert len(scripted_server.requests) == 2
