"""The batch drivers' pure parts: result lines (every documented shape) to answers or item
errors, batch objects to states, request lines; no secret in any message."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.common.errors import BatchItemError, ConfigurationError
from instructor_py.common.modes import OutputMode
from instructor_py.providers.anthropic_batch import AnthropicBatchDriver, _remote
from instructor_py.providers.base import InferenceRequest
from instructor_py.providers.batch_drivers import create_batch_driver
from instructor_py.providers.openai_batch import OpenAIBatchDriver
from instructor_py.providers.presets import PRESETS

KEY = "sk-secret-0123456789abcdef"


@pytest.fixture
def openai_driver() -> Any:
    driver = OpenAIBatchDriver(PRESETS["openai"], api_key=KEY, base_url="http://127.0.0.1:9/v1")
    yield driver
    driver.close()


@pytest.fixture
def anthropic_driver() -> Any:
    driver = AnthropicBatchDriver(PRESETS["anthropic"], api_key=KEY, base_url="http://127.0.0.1:9")
    yield driver
    driver.close()


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    }


def test_openai_lines(openai_driver: OpenAIBatchDriver) -> None:
    ok = openai_driver.parse_line("j-0", {"id": "r", "custom_id": "j-0", "response": {"status_code": 200, "request_id": "x", "body": completion('{"a": 1}')}, "error": None})
    assert ok.error is None and ok.response is not None and ok.response.content == '{"a": 1}'
    assert ok.response.usage.input_tokens == 3

    refused = openai_driver.parse_line("j-1", {"custom_id": "j-1", "response": {"status_code": 429, "body": {"error": {"message": f"slow down {KEY}", "code": "rate_limit_exceeded"}}}, "error": None})
    assert isinstance(refused.error, BatchItemError)
    assert refused.error.code == "rate_limit_exceeded" and refused.error.status == 429
    assert KEY not in str(refused.error)

    expired = openai_driver.parse_line("j-2", {"custom_id": "j-2", "response": None, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
    assert expired.error is not None and expired.error.code == "batch_expired"
    assert "Submit the item again" in str(expired.error)

    junk = openai_driver.parse_line("j-3", {"custom_id": "j-3"})
    assert junk.error is not None and "neither a response nor an error" in str(junk.error)

    unreadable = openai_driver.parse_line("j-4", {"custom_id": "j-4", "response": {"status_code": 200, "body": {"choices": []}}})
    assert unreadable.error is not None and "could not be read" in str(unreadable.error)


def test_anthropic_lines(anthropic_driver: AnthropicBatchDriver) -> None:
    message = {"type": "message", "content": [{"type": "text", "text": '{"a": 1}'}], "stop_reason": "end_turn", "usage": {"input_tokens": 4, "output_tokens": 1}}
    ok = anthropic_driver.parse_line("j-0", {"custom_id": "j-0", "result": {"type": "succeeded", "message": message}})
    assert ok.response is not None and ok.response.content == '{"a": 1}' and ok.response.finish_reason == "stop"

    enveloped = {"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}}}
    bare = {"type": "errored", "error": {"type": "overloaded_error", "message": "busy"}}
    for result, code in ((enveloped, "invalid_request_error"), (bare, "overloaded_error")):
        line = anthropic_driver.parse_line("j-1", {"custom_id": "j-1", "result": result})
        assert line.error is not None and line.error.code == code
    for kind in ("canceled", "expired"):
        line = anthropic_driver.parse_line("j-2", {"custom_id": "j-2", "result": {"type": kind}})
        assert line.error is not None and line.error.code == kind
    odd = anthropic_driver.parse_line("j-3", {"custom_id": "j-3", "result": {"type": "mystery"}})
    assert odd.error is not None and "unknown result type" in str(odd.error)


def test_anthropic_states() -> None:
    base = {"id": "msgbatch_1", "type": "message_batch", "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z", "results_url": None}
    counts = {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0}
    assert _remote({**base, "processing_status": "in_progress", "request_counts": {**counts, "processing": 2, "succeeded": 0}}).state == "in_progress"
    assert _remote({**base, "processing_status": "canceling", "request_counts": counts}).state == "cancelling"
    done = _remote({**base, "processing_status": "ended", "request_counts": counts, "ended_at": "2024-09-24T19:00:00Z"})
    assert done.state == "completed" and done.total == 2 and done.created_at == pytest.approx(1727203044.100435)
    assert _remote({**base, "processing_status": "ended", "request_counts": {**counts, "expired": 1}}).state == "expired"
    assert _remote({**base, "processing_status": "ended", "cancel_initiated_at": "2024-09-24T18:40:00Z", "request_counts": counts}).state == "cancelled"


def test_request_lines(openai_driver: OpenAIBatchDriver, anthropic_driver: AnthropicBatchDriver) -> None:
    request = InferenceRequest(
        messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}),
        mode=OutputMode.JSON,
        response_schema={"type": "object"},
        model="m",
        options={"temperature": 0, "top_k": 3},
    )
    line = openai_driver.request_line("j-0", request)
    assert line["custom_id"] == "j-0" and line["method"] == "POST" and line["url"] == "/v1/chat/completions"
    assert line["body"]["top_k"] == 3 and "extra_body" not in line["body"]  # merged as the SDK would
    assert line["body"]["response_format"] == {"type": "json_object"}
    anthropic = anthropic_driver.request_line("j-0", request)
    assert set(anthropic) == {"custom_id", "params"}
    assert anthropic["params"]["system"] == "Be brief." and "stream" not in anthropic["params"]


def test_drivers_and_reprs() -> None:
    with pytest.raises(ConfigurationError, match="no batch API"):
        create_batch_driver(PRESETS["groq"].__class__(name="x", driver="local", base_url="", api_key_env=None, default_model=None), api_key=None, base_url="")
    driver = create_batch_driver(PRESETS["anthropic"], api_key=KEY, base_url="http://127.0.0.1:9")
    assert KEY not in repr(driver)
    driver.close()
