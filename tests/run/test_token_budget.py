"""The token budget end to end (``with_(token_budget=N)`` / ``with_budget(tokens=N)``) against the
scripted loopback server, and the usage the wire mappers report (reasoning and cached tokens)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from instructor_py import (
    BudgetExceeded,
    Event,
    StructuredOutput,
    StructuredOutputRetryError,
    TokenBudgetExceededError,
    Usage,
)
from instructor_py.common.modes import OutputMode
from instructor_py.run.budget import estimate_prompt
from tests.support.response_models import Adult
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w
from tests.support.wire_formats import ANTHROPIC, OPENAI

pytestmark = pytest.mark.e2e

CHILD = {"name": "Jason", "age": 5}
GOOD = {"name": "Jason", "age": 25}


def test_the_budget_stops_a_retry_loop_and_carries_every_attempt(
    scripted_server: ScriptedServer,
) -> None:
    # every answer fails validation; each attempt reports 400 prompt + 50 output tokens
    scripted_server.script([], default=OPENAI.answer(CHILD, OutputMode.TOOLS, usage=(400, 50)))
    seen: list[Event] = []
    builder = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 5", response_model=Adult, max_retries=10, token_budget=1500)
        .wiretap(seen.append)
    )
    with pytest.raises(TokenBudgetExceededError) as caught:
        builder.get()
    error = caught.value
    # attempt 1 spends 450; attempt 2's prompt is estimated at 400 + 50 + the feedback (> 0) so
    # 450 + ~460 fits; after attempt 2 (900 spent) attempt 3 (~470 more) still fits (1370);
    # after attempt 3 (1350 spent) attempt 4 would not
    assert len(scripted_server.requests) == 3
    assert [a.index for a in error.attempts] == [1, 2, 3]
    assert all("at least 18" in " ".join(a.errors) for a in error.attempts)
    assert error.usage == Usage(input_tokens=1200, output_tokens=150)
    assert error.spent == 1350 and error.budget == 1500 and error.spent + error.estimate > 1500
    assert isinstance(error, StructuredOutputRetryError)  # caught like retries running out
    assert "token budget (1500)" in str(error) and "attempt 4" in str(error)
    (event,) = [e for e in seen if isinstance(e, BudgetExceeded)]
    assert (event.attempt, event.spent, event.estimate) == (4, 1350, error.estimate)


def test_without_a_budget_the_same_loop_runs_all_its_retries(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script([], default=OPENAI.answer(CHILD, OutputMode.TOOLS, usage=(400, 50)))
    builder = OPENAI.client(scripted_server).with_(
        messages="Jason is 5", response_model=Adult, max_retries=5
    )
    with pytest.raises(StructuredOutputRetryError) as caught:
        builder.get()
    assert not isinstance(caught.value, TokenBudgetExceededError)
    assert len(scripted_server.requests) == 6


def test_a_first_attempt_over_the_budget_sends_nothing(scripted_server: ScriptedServer) -> None:
    builder = ANTHROPIC.client(scripted_server).with_(messages="x" * 4000, response_model=Adult)
    with pytest.raises(TokenBudgetExceededError) as caught:
        builder.with_budget(tokens=500).get()
    assert caught.value.attempts == () and caught.value.spent == 0
    assert caught.value.estimate >= 1000  # 4000 characters / 4
    assert scripted_server.requests == []


def test_a_budget_that_fits_lets_the_call_succeed(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [OPENAI.answer(CHILD, OutputMode.TOOLS), OPENAI.answer(GOOD, OutputMode.TOOLS)]
    )
    response = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=Adult, token_budget=10_000)
        .response()
    )
    assert response.value.age == 25 and len(response.attempts) == 2


async def test_the_budget_applies_to_async_and_streamed_calls(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script([], default=OPENAI.answer(CHILD, OutputMode.TOOLS, usage=(400, 50)))
    builder = OPENAI.client(scripted_server).with_(
        messages="Jason is 5", response_model=Adult, max_retries=10, token_budget=1000
    )
    with pytest.raises(TokenBudgetExceededError) as caught:
        await builder.aget()
    assert len(caught.value.attempts) == 2
    stream = builder.stream()
    with pytest.raises(TokenBudgetExceededError):
        list(stream.partials())
    assert len(scripted_server.requests) == 4


def test_max_tokens_passes_through_per_attempt(scripted_server: ScriptedServer) -> None:
    scripted_server.script([OPENAI.answer(GOOD, OutputMode.TOOLS)])
    OPENAI.client(scripted_server).with_(messages="Jason is 25", response_model=Adult).with_options(
        max_tokens=64
    ).get()
    body = scripted_server.requests[0].json
    assert body.get("max_tokens") == 64 or body.get("max_completion_tokens") == 64


def test_bad_budgets_are_refused() -> None:
    from instructor_py import ConfigurationError

    for bad in (0, -5, 1.5, True, "100"):
        with pytest.raises(ConfigurationError, match="token_budget"):
            StructuredOutput().with_(token_budget=bad)


def test_the_first_attempt_estimate_is_characters_over_four() -> None:
    plan = (
        StructuredOutput()
        .using("openai", api_key="sk-x")
        .with_(messages="a" * 400, response_model=Adult)
        .plan()
    )
    schema_chars = len(json.dumps(plan.request.response_schema))
    tool = plan.request.tool
    assert tool is not None
    expected = -(-(400 + schema_chars + len(tool.name) + len(tool.description)) // 4)
    assert estimate_prompt(plan.request) == expected


# -- usage: reasoning and cached tokens ------------------------------------------------------------


def _openai_usage_body() -> dict[str, Any]:
    body = w.openai_chat(tool_args=json.dumps(GOOD), tool_name="Adult", usage=(1200, 300))
    # https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 1024, "audio_tokens": 0}
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 256, "audio_tokens": 0}
    return body


def test_openai_usage_reports_reasoning_and_cached_tokens(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(_openai_usage_body())])
    builder = OPENAI.client(scripted_server).with_(messages="Jason is 25", response_model=Adult)
    usage = builder.with_(check_stream=False).response().usage  # a whole (non-streamed) answer
    assert scripted_server.requests[0].json.get("stream") is not True
    assert usage == Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=256
    )
    assert usage.total_tokens == 1500


def test_openai_streamed_usage_reports_reasoning_and_cached_tokens(
    scripted_server: ScriptedServer,
) -> None:
    events = w.openai_stream(tool_args=json.dumps(GOOD), tool_name="Adult", usage=(1200, 300))
    usage_chunk = next(e for e in events if isinstance(e, dict) and "usage" in e)
    usage_chunk["usage"] = _openai_usage_body()["usage"]
    scripted_server.script([Reply.sse(events)])
    final = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=Adult)
        .stream()
        .final_response()
    )
    assert final.usage == Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=256
    )


def _anthropic_cached_body() -> dict[str, Any]:
    body = w.anthropic_message(tool_input=GOOD, tool_name="Adult", usage=(50, 40))
    # https://docs.anthropic.com/en/api/messages#response-usage: input_tokens excludes the cached
    # prompt (cache_read_input_tokens) and what was written to the cache
    body["usage"].update({"cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300})
    return body


def test_anthropic_usage_counts_cached_prompt_tokens(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(_anthropic_cached_body())])
    builder = ANTHROPIC.client(scripted_server).with_(messages="Jason is 25", response_model=Adult)
    usage = builder.with_(check_stream=False).response().usage  # a whole (non-streamed) answer
    assert scripted_server.requests[0].json.get("stream") is not True
    assert usage == Usage(
        input_tokens=2350, output_tokens=40, cache_read_tokens=2000, cache_write_tokens=300
    )


def test_anthropic_streamed_usage_keeps_the_cache_counts_of_message_start(
    scripted_server: ScriptedServer,
) -> None:
    # https://docs.anthropic.com/en/docs/build-with-claude/streaming: message_start carries the
    # prompt counts (cache ones included), message_delta the output tokens
    events = w.anthropic_stream(tool_json=json.dumps(GOOD), tool_name="Adult", usage=(50, 40))
    start = events[0]
    assert isinstance(start, tuple) and start[0] == "message_start"
    start[1]["message"]["usage"].update(
        {"cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300}
    )
    scripted_server.script([Reply.sse(events)])
    final = (
        ANTHROPIC.client(scripted_server)
        .with_(messages="Jason is 25", response_model=Adult)
        .stream()
        .final_response()
    )
    assert scripted_server.requests[0].json["stream"] is True
    assert final.usage == Usage(
        input_tokens=2350, output_tokens=40, cache_read_tokens=2000, cache_write_tokens=300
    )
