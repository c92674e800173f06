"""Messy streamed answers through the public API (``StructuredOutput().using(...).stream()``)
against the scripted loopback server (OpenAI and Anthropic SSE wire formats, JSON and MD_JSON
modes): partials and sequence items read with the tolerant rules, as the final answer is."""

from __future__ import annotations

import enum
import itertools
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, Sequence, StructuredOutputRetryError
from instructor_py.run.events import ChunkReceived
from tests.support.servers import ScriptedServer
from tests.support.streamed_replies import client, streamed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


class Status(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Person(BaseModel):
    name: str
    age: int
    status: Status
    tags: list[str]


# unquoted keys, single quotes, a comment, a number with a thousands separator, an enum in
# another case, Python literals nowhere needed, a trailing comma
MESSY = (
    "{\n  name: 'Ann Lee',  // as written\n  age: 1,234,\n  status: 'Active',\n"
    "  tags: ['a', 'b c', 'd',],\n}"
)
EXPECTED = Person(name="Ann Lee", age=1234, status=Status.ACTIVE, tags=["a", "b c", "d"])
CASES = [
    (wire, mode)
    for wire in ("openai", "anthropic")
    for mode in (OutputMode.JSON, OutputMode.MD_JSON)
]


def _shown(partial: Any) -> dict[str, Any]:
    return {k: v for k, v in partial.model_dump().items() if v is not None}


@pytest.mark.parametrize(("wire", "mode"), CASES, ids=lambda c: getattr(c, "value", c))
def test_messy_answers_stream_growing_partials_that_end_at_the_final_value(
    scripted_server: ScriptedServer, wire: str, mode: OutputMode
) -> None:
    scripted_server.script([streamed(wire, mode, MESSY, piece=2, seed=7)])
    stream = (
        client(scripted_server, wire)
        .with_(messages="Extract the person", response_model=Person, mode=mode)
        .stream()
    )
    partials = list(stream.partials())
    response = stream.final_response()

    assert response.value == EXPECTED
    assert len(partials) >= 4
    assert partials[-1].model_dump() == EXPECTED.model_dump(mode="json")  # the last snapshot
    shown = [_shown(p) for p in partials]
    for before, after in itertools.pairwise(shown):
        assert set(before) <= set(after)  # monotone: nothing shown is withdrawn
    for snap in shown:  # nothing coerced before it was settled
        assert snap.get("age", 1234) == 1234
        assert snap.get("status", "active") == "active"
        tags = snap.get("tags", [])  # items grow as strings do
        assert all(
            t == x or (i == len(tags) - 1 and x.startswith(t))
            for i, (t, x) in enumerate(zip(tags, ["a", "b c", "d"], strict=False))
        )
    assert any("age" in s and "tags" not in s for s in shown)  # partials came before the end
    kinds = {r.kind for r in response.repairs}
    assert {"unquoted_key", "single_quotes", "number_thousands", "enum_case"} <= kinds
    assert len(scripted_server.requests) == 1


class User(BaseModel):
    name: str
    age: int


@pytest.mark.parametrize(("wire", "mode"), CASES, ids=lambda c: getattr(c, "value", c))
def test_sequence_yields_the_items_of_a_messy_list_while_it_streams(
    scripted_server: ScriptedServer, wire: str, mode: OutputMode
) -> None:
    text = "[" + ", ".join(f"{{name: 'User {i}', age: '{i + 20}'}}" for i in range(6)) + ",]"
    scripted_server.script([streamed(wire, mode, text, piece=4)])
    received = 0

    def count(event: ChunkReceived) -> None:
        nonlocal received
        received += event.size

    stream = (
        client(scripted_server, wire)
        .with_(messages="x", response_model=Sequence.of(User), mode=mode)
        .on_event(ChunkReceived, count)
        .stream()
    )
    seen = [(user, received) for user in stream.sequence()]
    expected = [User(name=f"User {i}", age=i + 20) for i in range(6)]
    assert [u for u, _ in seen] == expected
    assert stream.final_value() == expected
    first_at = seen[0][1]
    assert first_at < received / 2  # the first item came while the list was still streaming
    assert {"unquoted_key", "string_to_number"} <= {r.kind for r in stream.final_response().repairs}


def test_strict_parsing_keeps_strict_streaming(scripted_server: ScriptedServer) -> None:
    scripted_server.script([streamed("openai", OutputMode.JSON, MESSY, piece=2)])
    stream = (
        client(scripted_server, "openai")
        .with_parsing("strict")
        .with_(messages="x", response_model=Person, mode=OutputMode.JSON, max_retries=0)
        .stream()
    )
    partials: list[Any] = []
    with pytest.raises(StructuredOutputRetryError):
        for partial in stream.partials():
            partials.append(partial)
    assert partials == []  # the strict path reads no partial from a messy answer


async def test_async_streams_read_messy_answers_too(scripted_server: ScriptedServer) -> None:
    scripted_server.script([streamed("openai", OutputMode.MD_JSON, MESSY, piece=3)])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Person, mode=OutputMode.MD_JSON)
        .astream()
    )
    responses = [r async for r in stream.responses()]
    partial = [r.value for r in responses if r.is_partial and not r.is_void]
    assert len(partial) >= 4
    assert partial[-1].model_dump() == EXPECTED.model_dump(mode="json")
    final = responses[-1]
    assert not final.is_partial and final.value == EXPECTED
    assert "number_thousands" in {r.kind for r in final.repairs}
