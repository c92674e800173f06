"""Focused retry feedback (``retry_feedback``): when the answer parsed and only some fields failed,
the retry quotes the valid part once and names only the failing paths, without the schema again;
``"full"`` keeps the replayed conversation. End to end against the scripted loopback server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from instructor_py import StructuredOutput
from instructor_py.common.errors import InvalidArgumentError
from instructor_py.common.modes import OutputMode
from tests.support.servers import ScriptedServer
from tests.support.wire_formats import OPENAI

pytestmark = pytest.mark.e2e


class Item(BaseModel):
    sku: str
    qty: int = Field(ge=1)


class Order(BaseModel):
    customer: str = Field(description="Who ordered.")
    city: str
    age: int = Field(ge=18, description="The customer's age.")
    items: list[Item]
    note: str | None = None


BAD = {
    "customer": "Ann",
    "city": "Oslo",
    "age": 12,
    "items": [{"sku": "A1", "qty": 0}, {"sku": "B2", "qty": 2}],
}
GOOD = {
    "customer": "Ann",
    "city": "Oslo",
    "age": 30,
    "items": [{"sku": "A1", "qty": 1}, {"sku": "B2", "qty": 2}],
}


def _messages(server: ScriptedServer, index: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = server.requests[index].json["messages"]
    return messages


@pytest.mark.parametrize("mode", [OutputMode.JSON, OutputMode.MD_JSON])
def test_focused_retry_in_prompted_modes(scripted_server: ScriptedServer, mode: OutputMode) -> None:
    scripted_server.script(
        [OPENAI.answer(BAD, mode), OPENAI.answer(BAD, mode), OPENAI.answer(GOOD, mode)]
    )
    order = (
        OPENAI.client(scripted_server)
        .with_(messages="Ann, 30, Oslo", response_model=Order, mode=mode, system="Be exact.")
        .get()
    )
    assert order.age == 30
    first, second, third = (_messages(scripted_server, i) for i in range(3))
    assert first[0]["role"] == "system" and '"age"' in first[0]["content"]
    # the retry: the caller's system prompt without the schema, the caller's message, one message
    assert [m["role"] for m in second] == ["system", "user", "user"]
    assert second[0]["content"] == "Be exact."
    feedback = second[-1]["content"]
    assert feedback.startswith("Your previous answer was almost right")
    assert "- $.age (integer; The customer's age. at least 18):" in feedback
    assert "- $.items[0].qty (integer; at least 1):" in feedback
    valid = json.loads(feedback.split("Every other value was valid:\n")[1].splitlines()[0])
    assert valid == {
        "customer": "Ann",
        "city": "Oslo",
        "items": [{"sku": "A1"}, {"sku": "B2", "qty": 2}],
    }
    assert "$.customer" not in feedback and '"description"' not in feedback
    # a second focused retry replaces the first one's message: the prompt does not grow
    assert len(third) == len(second) and third[:-1] == second[:-1]
    # and it costs less than the full feedback on the same answers
    scripted_server.script([OPENAI.answer(BAD, mode), OPENAI.answer(GOOD, mode)])
    OPENAI.client(scripted_server).with_(
        messages="Ann, 30, Oslo",
        response_model=Order,
        mode=mode,
        system="Be exact.",
        retry_feedback="full",
    ).get()
    full = _messages(scripted_server, 4)
    assert sum(len(m["content"]) for m in second) < sum(len(m["content"]) for m in full)


def test_tools_mode_keeps_the_full_replay(scripted_server: ScriptedServer) -> None:
    # the schema rides in the tools field on every request: a focused message would save nothing
    scripted_server.script(
        [
            OPENAI.answer(BAD, OutputMode.TOOLS, tool_name="Order"),
            OPENAI.answer(GOOD, OutputMode.TOOLS, tool_name="Order"),
        ]
    )
    OPENAI.client(scripted_server).with_(
        messages="Ann", response_model=Order, mode=OutputMode.TOOLS
    ).get()
    second = scripted_server.requests[1].json
    assert second["tools"] == scripted_server.requests[0].json["tools"]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool", "user"]


def test_full_feedback_on_request(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [OPENAI.answer(BAD, OutputMode.JSON), OPENAI.answer(GOOD, OutputMode.JSON)]
    )
    OPENAI.client(scripted_server).with_(
        messages="Ann", response_model=Order, mode=OutputMode.JSON, retry_feedback="full"
    ).get()
    second = _messages(scripted_server, 1)
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert json.loads(second[2]["content"]) == BAD
    assert second[0] == _messages(scripted_server, 0)[0]


def test_unparsed_answers_and_root_errors_get_the_full_feedback(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script([OPENAI.text("no idea"), OPENAI.answer(GOOD, OutputMode.JSON)])
    OPENAI.client(scripted_server).with_(
        messages="Ann", response_model=Order, mode=OutputMode.JSON
    ).get()
    assert [m["role"] for m in _messages(scripted_server, 1)] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


def test_a_bad_value_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="'focused', 'full'"):
        StructuredOutput().with_(retry_feedback="short")
