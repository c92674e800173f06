"""One call spec from the builder to the request: CallSpec, build_plan's resolution, the builder
reading through it, and the run engine's fixes (one lock for response()/aresponse(), the LRU
closing the providers it evicts, one transport-retry decision for all four paths)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput
from instructor_py.client.provider_source import shared_source
from instructor_py.client.structured_output import CallParts
from instructor_py.common.errors import ConfigurationError, ServerError, StreamInterruptedError
from instructor_py.common.usage import Usage
from instructor_py.providers.accumulator import DeltaAccumulator
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.events import InferenceRequested, RetryScheduled
from instructor_py.run.plan import build_plan
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.scripted_provider import ScriptedProvider, text

FAST = TransportRetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0, jitter=False)


class User(BaseModel):
    """A person."""

    name: str
    age: int


# --- the spec ----------------------------------------------------------------------------------


def test_every_with_keyword_is_a_call_spec_part() -> None:
    parts = {f.name for f in dataclasses.fields(CallSpec)}
    assert set(typing.get_type_hints(CallParts)) <= parts
    assert "check_stream" in parts


def test_spec_rules_check_and_merge() -> None:
    spec = CallSpec().with_(options={"a": 1}).with_(options={"b": 2}, mode="json")
    assert dict(spec.options) == {"a": 1, "b": 2} and spec.mode is OutputMode.JSON
    assert spec.with_(system=None) is spec  # None leaves a part unchanged
    with pytest.raises(TypeError, match="unknown call part 'temprature'"):
        spec.with_(temprature=0.5)
    with pytest.raises(TypeError, match="system must be a str"):
        spec.with_(system=3)
    with pytest.raises(ConfigurationError, match="max_retries"):
        spec.with_(max_retries=-1)
    with pytest.raises(TypeError, match="check_stream must be a bool"):
        spec.with_(check_stream="no")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.mode = OutputMode.TOOLS  # type: ignore[misc]


def test_builder_holds_one_spec_and_reads_through_it() -> None:
    so = StructuredOutput().with_("hi", User, system="be brief", check_stream=False)
    assert so.spec.system == so.system == "be brief"
    assert so.spec.check_stream is False and so.check_stream is False
    assert so.messages == ({"role": "user", "content": "hi"},)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = so.nope


def test_the_plan_carries_the_spec_and_resolves_mode_model_and_tool() -> None:
    provider = ScriptedProvider([])
    spec = StructuredOutput().with_("Jason is 25", User).spec
    plan = build_plan(provider, spec)
    assert plan.spec is spec
    request = plan.request
    assert request.mode is OutputMode.TOOLS  # the provider's default
    assert request.model == "scripted-model"  # the provider's default
    assert request.tool is not None
    assert (request.tool.name, request.tool.description) == ("User", "A person.")
    named = build_plan(provider, spec.with_(tool_name="extract", model="m2", mode="json"))
    assert named.request.model == "m2" and named.request.tool is None
    tool = build_plan(provider, spec.with_(tool_name="extract", tool_description="Get it."))
    assert tool.request.tool is not None
    assert (tool.request.tool.name, tool.request.tool.description) == ("extract", "Get it.")


# --- the delta accumulator ---------------------------------------------------------------------


def test_delta_accumulator_keeps_the_first_tool_call_and_the_last_usage() -> None:
    acc = DeltaAccumulator()
    for delta in (
        InferenceDelta(content="thinking "),
        InferenceDelta(tool_arguments='{"a"', tool_name="fn", tool_call_id="c1"),
        InferenceDelta(tool_arguments=": 1}"),
        InferenceDelta(tool_arguments='{"b": 2}', tool_name="fn", tool_call_id="c2"),
        InferenceDelta(finish_reason="tool_calls", usage=Usage(3, 4), raw="last"),
    ):
        acc.add(delta)
    response = acc.response()
    assert response.content == "thinking "
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [("c1", "fn", '{"a": 1}')]
    assert (response.finish_reason, response.usage, response.raw) == ("tool_calls", Usage(3, 4), "last")


# --- one transport-retry decision, four paths ---------------------------------------------------


def test_next_delay_is_the_one_decision() -> None:
    policy = TransportRetryPolicy(max_retries=2, initial_delay=1.0, jitter=False)
    error = ServerError("boom", provider="p")
    assert [policy.next_delay(error, n) for n in (1, 2, 3)] == [1.0, 2.0, None]
    assert policy.next_delay(ValueError("not transport"), 1) is None
    assert policy.next_delay(ServerError("x", provider="p", retry_after=7), 1) == 7


def _flaky_builder(provider: ScriptedProvider, events: list[Any]) -> StructuredOutput[Any]:
    return (
        StructuredOutput()
        .with_provider(provider)
        .with_("Jason is 25", User, mode="json")
        .with_transport_retry_policy(FAST)
        .wiretap(events.append)
    )


@pytest.mark.parametrize("path", ["get", "aget", "stream", "astream"])
def test_every_path_retries_transport_failures_the_same_way(path: str) -> None:
    provider = ScriptedProvider(
        [StreamInterruptedError("cut", provider="s"), text('{"name": "J", "age": 2}')]
    )
    events: list[Any] = []
    builder = _flaky_builder(provider, events)

    async def run_async() -> Any:
        if path == "aget":
            return await builder.aget()
        return await builder.astream().final_value()

    if path == "get":
        value = builder.get()
    elif path == "stream":
        value = builder.stream().final_value()
    else:
        value = asyncio.run(run_async())
    assert value == User(name="J", age=2)
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [(e.kind, e.attempt, e.reason) for e in retries] == [
        ("transport", 1, "StreamInterruptedError on try 1")
    ]
    requested = [e for e in events if isinstance(e, InferenceRequested)]
    assert [(e.attempt, e.stream) for e in requested] == [(1, "stream" in path)] * 2


# --- one lock for response() and aresponse() ---------------------------------------------------


class SlowProvider(ScriptedProvider):
    def infer(self, request: InferenceRequest) -> InferenceResponse:
        time.sleep(0.3)
        return super().infer(request)

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        await asyncio.sleep(0.3)
        return self._next(request)


def test_a_sync_and_an_async_call_on_one_pending_object_send_once() -> None:
    provider = SlowProvider([text('{"name": "J", "age": 2}'), text('{"name": "K", "age": 3}')])
    pending = StructuredOutput().with_provider(provider).with_("x", User, mode="json").create()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(pending.response()))
    thread.start()
    time.sleep(0.05)  # the sync call holds the lock and is sending

    async def both() -> Any:
        return await asyncio.gather(pending.aresponse(), pending.aresponse())

    results.extend(asyncio.run(both()))
    thread.join()
    assert len(provider.requests) == 1
    assert results[0] is results[1] is results[2]
    assert results[0].value == User(name="J", age=2)


# --- the shared-provider LRU closes what it evicts ----------------------------------------------


def test_the_lru_closes_evicted_providers() -> None:
    first = shared_source("openai", {"api_key": "k", "base_url": "http://127.0.0.1:9/v0"})
    driver: Any = first.resolve()
    client = driver._sync()  # the sync client (and its connection pool) exists
    assert not client.is_closed()
    for i in range(1, 40):
        shared_source("openai", {"api_key": "k", "base_url": f"http://127.0.0.1:9/v{i}"})
    assert client.is_closed()
    again = shared_source("openai", {"api_key": "k", "base_url": "http://127.0.0.1:9/v0"})
    assert again is not first  # evicted: a new source, while the old driver stays usable
    assert driver._sync() is not client
