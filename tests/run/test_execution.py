"""Execution: attempts, validation retries, transport retries, sync and async."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput, StructuredOutputRetryError, Usage
from instructor_py.common.errors import AuthenticationError, RateLimitError, ServerError
from instructor_py.providers.base import InferenceResponse
from instructor_py.run.events import RetryScheduled
from instructor_py.run.retry import DEFAULT_MAX_RETRIES
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.response_models import Adult
from tests.support.scripted_provider import ScriptedProvider, text, tool

FAST = TransportRetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0, jitter=False)


class User(BaseModel):
    name: str
    age: int


def builder(provider: ScriptedProvider, messages: object = "Jason is 25") -> StructuredOutput:
    return (
        StructuredOutput()
        .with_provider(provider)
        .with_transport_retry_policy(FAST)
        .with_(messages=messages, response_model=User)
    )


def test_get_returns_validated_model() -> None:
    p = ScriptedProvider([tool('{"name": "Jason", "age": 25}')])
    assert builder(p).get() == User(name="Jason", age=25)
    assert len(p.requests) == 1


async def test_aget_returns_validated_model() -> None:
    p = ScriptedProvider([tool('{"name": "Jason", "age": 25}')])
    assert await builder(p).aget() == User(name="Jason", age=25)


def test_tools_retry_feeds_back_tool_call_and_errors_caller_list_unchanged() -> None:
    msgs = [{"role": "user", "content": "Jason is 25"}]
    snapshot = json.dumps(msgs)
    p = ScriptedProvider(
        [tool('{"name": "Jason", "age": "old"}', call_id="c9"), tool('{"name":"Jason","age":25}')]
    )
    result = builder(p, msgs).response()
    assert result.value == User(name="Jason", age=25)
    assert json.dumps(msgs) == snapshot
    second = list(p.requests[1].messages)
    assert second[0] == {"role": "user", "content": "Jason is 25"}
    assistant, tool_msg, feedback = second[1:]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["id"] == "c9"
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"name": "Jason", "age": "old"}'
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "c9"
    assert feedback["role"] == "user"
    assert "$.age" in feedback["content"] and "integer" in feedback["content"]
    # the first request object is not changed by the retry
    assert len(p.requests[0].messages) == 1


def test_json_mode_retry_feeds_back_assistant_text() -> None:
    p = ScriptedProvider([text("I think Jason is 25"), text('{"name":"Jason","age":25}')])
    b = builder(p).with_output_mode(OutputMode.JSON).with_retry_prompt("Fix: {errors}")
    assert b.get() == User(name="Jason", age=25)
    msgs = p.requests[1].messages
    assert msgs[-2] == {"role": "assistant", "content": "I think Jason is 25"}
    assert msgs[-1]["role"] == "user"
    assert msgs[-1]["content"].startswith("Fix: - $: no JSON found")
    assert not any("tool_calls" in m for m in msgs)


def test_pydantic_validator_error_is_fed_back_with_stage_validate() -> None:
    p = ScriptedProvider([tool('{"name":"Tim","age":12}'), tool('{"name":"Tim","age":19}')])
    r = builder(p).with_response_model(Adult).response()
    assert r.value.age == 19
    assert r.attempts[0].stage == "validate"
    assert r.attempts[0].errors == ("$.age: Value error, age must be at least 18",)
    assert "age must be at least 18" in p.requests[1].messages[-1]["content"]


def test_retries_exhausted_carries_every_attempt_and_summed_usage() -> None:
    answers = ['{"name": 1}', "nope", '{"name":"x","age":"y"}']
    p = ScriptedProvider([tool(a, usage=Usage(7, 3)) for a in answers])
    with pytest.raises(StructuredOutputRetryError) as info:
        builder(p).get()
    err = info.value
    assert DEFAULT_MAX_RETRIES == 2
    assert [a.content for a in err.attempts] == answers
    assert [a.stage for a in err.attempts] == ["schema", "extract", "schema"]
    assert all(a.errors for a in err.attempts)
    assert err.usage == Usage(21, 9)
    assert "3 attempt" in str(err) and "max_retries=2" in str(err)
    assert len(p.requests) == 3


def test_max_retries_zero_means_one_attempt() -> None:
    p = ScriptedProvider([tool("{}")])
    with pytest.raises(StructuredOutputRetryError) as info:
        builder(p).with_max_retries(0).get()
    assert len(info.value.attempts) == 1


async def test_async_retries_exhausted() -> None:
    p = ScriptedProvider([tool("{}"), tool("{}")])
    with pytest.raises(StructuredOutputRetryError) as info:
        await builder(p).with_max_retries(1).aget()
    assert len(info.value.attempts) == 2


def test_transport_retry_after_rate_limit_resends_same_request() -> None:
    events: list[RetryScheduled] = []
    p = ScriptedProvider(
        [RateLimitError("slow down", retry_after=0.0), tool('{"name":"Jason","age":25}')]
    )
    r = builder(p).on_event(RetryScheduled, events.append).response()
    assert r.value.age == 25
    assert len(p.requests) == 2
    assert p.requests[0] == p.requests[1]  # not fed back to the model
    assert [e.kind for e in events] == ["transport"]
    assert len(r.attempts) == 1


async def test_async_transport_retry() -> None:
    p = ScriptedProvider([ServerError("boom", status=503), tool('{"name":"J","age":2}')])
    assert (await builder(p).aget()).age == 2
    assert len(p.requests) == 2


def test_transport_retries_run_out_raise_the_transport_error() -> None:
    p = ScriptedProvider([ServerError("boom", status=500) for _ in range(4)])
    with pytest.raises(ServerError):
        builder(p).get()
    assert len(p.requests) == 4  # 1 + FAST.max_retries


def test_non_retryable_error_fails_at_once() -> None:
    p = ScriptedProvider([AuthenticationError("set OPENAI_API_KEY", status=401)])
    with pytest.raises(AuthenticationError):
        builder(p).get()
    assert len(p.requests) == 1


def test_pending_is_lazy_and_cached() -> None:
    p = ScriptedProvider([tool('{"name":"J","age":2}')])
    pending = builder(p).create()
    assert p.requests == []
    assert pending.request.messages[-1]["content"] == "Jason is 25"
    first = pending.get()
    assert pending.get() is first
    assert pending.response() is pending.response()
    assert len(p.requests) == 1


async def test_pending_async_cached() -> None:
    p = ScriptedProvider([tool('{"name":"J","age":2}')])
    pending = builder(p).create()
    assert await pending.aget() is await pending.aget()
    assert pending.get() == User(name="J", age=2)
    assert len(p.requests) == 1


def test_attempt_iterator_seam_can_be_driven_by_hand_in_stream_mode() -> None:
    from instructor_py.run.execution import AttemptIterator, ProviderCall

    p = ScriptedProvider([])
    plan = builder(p).plan()
    it = AttemptIterator(plan, stream=True)
    gen = it.steps()
    step = next(gen)
    assert isinstance(step, ProviderCall)
    assert (step.kind, step.attempt, step.request.stream) == ("stream", 1, True)
    step = gen.send(tool('{"name": "J"}'))  # a "stream" assembled into one response
    assert (step.kind, step.attempt) == ("stream", 2)
    assert it.attempts[-1].errors == ("$: 'age' is a required property",)
    assert step.request.messages[-1]["role"] == "user"
    with pytest.raises(StopIteration) as done:
        gen.send(tool('{"name": "J", "age": 3}'))
    assert done.value.value.value == User(name="J", age=3)
    assert len(it.attempts) == 2
    assert p.requests == []  # the iterator itself never calls the provider


def test_cut_off_answer_says_to_raise_max_tokens() -> None:
    cut = InferenceResponse(content='{"name": "Jas', finish_reason="length", usage=Usage(5, 50))
    p = ScriptedProvider([cut])
    with pytest.raises(StructuredOutputRetryError) as info:
        builder(p).with_output_mode("json").with_max_retries(0).get()
    errors = info.value.attempts[0].errors
    assert errors[-1].startswith("$: the answer was cut off by the token limit")
    assert "max_tokens" in str(info.value)


def test_cut_off_answer_never_yields_a_fragment_that_happens_to_validate() -> None:
    """A truncated answer can contain a balanced object that validates on its own (here the
    first of several users); it is still a failed attempt, and the retry gets the real answer."""
    cut = InferenceResponse(
        content='Users: {"name": "Ann", "age": 3} and {"name": "Bo',
        finish_reason="length",
        usage=Usage(5, 50),
    )
    p = ScriptedProvider([cut, text('{"name": "Bob", "age": 40}')])
    result = builder(p).with_output_mode("json").with_max_retries(1).response()
    assert result.value == User(name="Bob", age=40)
    assert [a.stage for a in result.attempts] == ["extract", None]
    assert result.attempts[0].errors == (
        "$: the answer was cut off by the token limit (finish_reason='length'); "
        "raise max_tokens with with_options(max_tokens=...) or ask for less",
    )


def test_retry_options_apply_from_the_first_retry_on() -> None:
    p = ScriptedProvider(
        [text('{"name": "Jason"}'), text('{"name": "Jason"}'), text('{"name": "Jason", "age": 25}')]
    )
    value = (
        builder(p)
        .with_output_mode("json")
        .with_options(max_tokens=50, temperature=0.0)
        .with_retry_options(temperature=0.7)
        .with_retry_options({"seed": 7})
        .get()
    )
    assert value == User(name="Jason", age=25)
    first, second, third = (dict(r.options) for r in p.requests)
    assert first == {"max_tokens": 50, "temperature": 0.0}
    assert second == third == {"max_tokens": 50, "temperature": 0.7, "seed": 7}


def test_retry_options_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="retry options must be a mapping"):
        StructuredOutput().with_retry_options(["temperature"])  # type: ignore[arg-type]
