"""The tolerant parser through the public API: a messy answer is read without a paid retry, with
every repair on the response and in an event; `with_parsing("strict")` restores the strict chain
(the same answer then costs a retry); an ambiguous answer goes to the retry with an error that
says what was ambiguous."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import (
    AnswerRepaired,
    InvalidArgumentError,
    OutputMode,
    StructuredOutput,
    StructuredOutputRetryError,
)
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w


class Size(StrEnum):
    SMALL = "small"
    LARGE = "large"


class Order(BaseModel):
    customer: str
    quantity: int
    size: Size
    express: bool


MESSY = """Sure! Here is the order:
```json
{customer: 'Acme Corp', quantity: "12,000", size: 'LARGE', express: "yes",}
```"""
VALID = '{"customer": "Acme Corp", "quantity": 12000, "size": "large", "express": true}'


def _builder(server: ScriptedServer) -> StructuredOutput[Any]:
    return (
        StructuredOutput()
        .using("openai", api_key="sk-test", base_url=server.openai_url, model=w.MODEL)
        .with_(messages="the order", response_model=Order, mode=OutputMode.JSON, max_retries=1,
               check_stream=False)
    )  # fmt: skip


def test_a_messy_answer_is_read_without_a_retry(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(w.openai_chat(MESSY))])
    events: list[AnswerRepaired] = []
    response = _builder(scripted_server).on_event(AnswerRepaired, events.append).response()
    assert response.value == Order(customer="Acme Corp", quantity=12000, size=Size.LARGE, express=True)
    assert len(scripted_server.requests) == 1 and len(response.attempts) == 1
    kinds = {(r.path, r.kind) for r in response.repairs}
    assert ("$.quantity", "number_thousands") in kinds
    assert any(path == "$.size" for path, _ in kinds) and any(path == "$.express" for path, _ in kinds)
    assert len(events) == 1 and events[0].attempt == 1
    assert any("$.quantity" in line for line in events[0].repairs)


def test_strict_parsing_sends_the_same_answer_to_a_retry(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(w.openai_chat(MESSY)), Reply.json(w.openai_chat(VALID))])
    response = _builder(scripted_server).with_parsing("strict").response()
    assert response.value.quantity == 12000
    assert len(scripted_server.requests) == 2  # the messy answer cost a paid retry
    assert response.repairs == () and response.attempts[0].errors


def test_strict_json_is_read_as_written_with_no_repairs(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(w.openai_chat(VALID))])
    response = _builder(scripted_server).response()
    assert response.repairs == () and response.value.size is Size.LARGE


def test_an_ambiguous_answer_goes_to_the_retry(scripted_server: ScriptedServer) -> None:
    ambiguous = '{"customer": "Acme", "quantity": 3, "size": "small or large", "express": false}'
    scripted_server.script([Reply.json(w.openai_chat(ambiguous))] * 2)
    with pytest.raises(StructuredOutputRetryError) as info:
        _builder(scripted_server).get()
    assert len(scripted_server.requests) == 2
    assert "ambiguous" in " ".join(info.value.attempts[0].errors)


def test_with_parsing_refuses_an_unknown_mode() -> None:
    with pytest.raises(InvalidArgumentError, match="'tolerant', 'strict'"):
        StructuredOutput().with_parsing("lenient")
