"""stream() / astream() through the public API against the scripted loopback server: SSE in 1-7
byte writes, both wire formats (OpenAI, Anthropic), every mode with partials."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from pydantic import BaseModel, field_validator

from instructor_py import (
    OutputMode,
    PartialList,
    Sequence,
    SequenceContradictionError,
    StructuredOutputRetryError,
    partial_model,
)
from instructor_py.common.errors import AuthenticationError
from instructor_py.run.events import (
    ChunkReceived,
    Event,
    PartialGenerated,
    RetryScheduled,
    SequenceItemCompleted,
    StreamVoided,
)
from tests.support.servers import Reply, ScriptedServer
from tests.support.streamed_replies import API_KEY, MODES, WIRES, client, streamed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


class Address(BaseModel):
    city: str
    zip: str


class Person(BaseModel):
    name: str
    age: int
    address: Address
    tags: list[str]


class User(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def plausible(cls, v: int) -> int:
        if not 0 <= v <= 150:
            raise ValueError("age must be between 0 and 150")
        return v


PERSON = {
    "name": 'Zoë "Z" Ünal \\ 😀',
    "age": 41,
    "address": {"city": "Genève {}[]", "zip": "1201"},
    "tags": ["a}b", "c]d", "\u00e9\u20ac\U0001f600", "tab\there"],
}

CASES = [(wire, mode) for wire in WIRES for mode in MODES[wire]]


def _ids(case: tuple[str, OutputMode]) -> str:
    return f"{case[0]}-{case[1].value}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("ascii_", [True, False], ids=["u-escapes", "utf8"])
def test_partials_grow_in_every_mode_and_wire(
    scripted_server: ScriptedServer, case: tuple[str, OutputMode], ascii_: bool
) -> None:
    wire, mode = case
    text = json.dumps(PERSON, ensure_ascii=ascii_)
    reply = streamed(wire, mode, text, piece=2, seed=len(text))
    if ascii_:  # 2-character deltas necessarily split every 6-character \uXXXX escape
        assert "\\ud83d\\ude00" in text
    else:  # some socket write starts inside a multi-byte UTF-8 sequence
        assert any(piece[0] & 0xC0 == 0x80 for piece in reply.pieces()[1:])
    scripted_server.script([reply])
    stream = (
        client(scripted_server, wire)
        .with_(messages="Extract the person", response_model=Person, mode=mode)
        .stream()
    )
    partials = list(stream.partials())
    final = stream.final_value()

    assert final == Person.model_validate(PERSON)
    twin = partial_model(Person)
    assert len(partials) > 20 and all(isinstance(p, twin) for p in partials)
    names = [p.name for p in partials if p.name is not None]
    assert len(set(names)) > 5  # the name grows in many steps
    assert all(final.name.startswith(n) for n in names)
    assert all(p.age in (None, 41) for p in partials)  # numbers appear only when complete
    tags = [p.tags for p in partials if p.tags is not None]
    assert isinstance(tags[-1], PartialList) and list(tags[-1]) == PERSON["tags"]
    assert partials[-1].model_dump() == final.model_dump()
    assert all(a != b for a, b in itertools.pairwise(partials))
    assert len(scripted_server.requests) == 1
    assert scripted_server.requests[0].json["stream"] is True


def test_partial_strings_false_shows_closed_strings_only(scripted_server: ScriptedServer) -> None:
    text = json.dumps(PERSON)
    scripted_server.script([streamed("openai", OutputMode.JSON, text, piece=1)])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Person, mode=OutputMode.JSON)
        .stream(partial_strings=False)
    )
    partials = list(stream.partials())
    assert len(partials) > 5 and {p.name for p in partials} == {PERSON["name"]}


def _closing_positions(items: list[dict[str, Any]], text: str) -> list[int]:
    """Character index of each item's closing brace in ``text``."""
    positions = []
    at = 0
    for item in items:
        encoded = json.dumps(item)
        at = text.index(encoded, at) + len(encoded) - 1
        positions.append(at)
    return positions


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("mode", [OutputMode.TOOLS, OutputMode.JSON])
def test_sequence_yields_each_item_once_as_soon_as_it_closes(
    scripted_server: ScriptedServer, wire: str, mode: OutputMode
) -> None:
    items = [{"name": f"User }}]{i} \u00e9", "age": 20 + i} for i in range(6)]
    text = json.dumps({"items": items})
    scripted_server.script([streamed(wire, mode, text, piece=4, tool_name="UserList")])
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
    seen = []
    for user in stream.sequence():
        seen.append((user, received))
    closes = _closing_positions(items, text)
    assert [u for u, _ in seen] == [User.model_validate(i) for i in items]
    for (_, got), close in zip(seen, closes, strict=True):
        # yielded on the very delta carrying the item's closing brace: not one item late
        assert close < got <= close + 4
    assert stream.final_value() == [u for u, _ in seen]
    assert list(stream.sequence()) == [u for u, _ in seen]  # replayed, not re-sent
    assert len(scripted_server.requests) == 1


def test_sequence_accepts_a_bare_array(scripted_server: ScriptedServer) -> None:
    items = [{"name": "Ann", "age": 30}, {"name": "Bo", "age": 40}]
    scripted_server.script([streamed("openai", OutputMode.JSON, json.dumps(items))])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=list[User], mode=OutputMode.JSON)
        .stream()
    )
    assert [u.name for u in stream.sequence()] == ["Ann", "Bo"]


def _events(so: Any) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    return so.wiretap(events.append), events


@pytest.mark.parametrize("wire", WIRES)
def test_validation_retry_emits_a_void_marker_before_the_new_attempt(
    scripted_server: ScriptedServer, wire: str
) -> None:
    bad = json.dumps({"items": [{"name": "Old", "age": 200}]})
    good = json.dumps({"items": [{"name": "Ann", "age": 30}]})
    scripted_server.script(
        [
            streamed(wire, OutputMode.TOOLS, bad, tool_name="UserList", usage=(10, 5)),
            streamed(wire, OutputMode.TOOLS, good, tool_name="UserList", usage=(20, 7)),
        ]
    )
    so, events = _events(
        client(scripted_server, wire).with_(
            messages="x", response_model=Sequence.of(User), mode=OutputMode.TOOLS, max_retries=1
        )
    )
    responses = list(so.stream().responses())
    kinds = ["void" if r.is_void else "partial" if r.is_partial else "final" for r in responses]
    void_at = kinds.index("void")
    assert kinds.count("void") == 1 and kinds[-1] == "final" and 0 < void_at < len(kinds) - 2
    before, after = responses[:void_at], responses[void_at + 1 : -1]
    assert any(p.value and p.value[0].name == "Old" for p in before)
    assert all(p.value is not None and all(u.name != "Old" for u in p.value) for p in after)
    final = responses[-1]
    assert final.value == [User(name="Ann", age=30)]
    assert final.usage.input_tokens == 30 and final.usage.output_tokens == 12
    assert len(final.attempts) == 2 and final.attempts[0].errors
    assert after[0].usage.input_tokens == 10  # partials carry the usage of finished attempts
    voided = [e for e in events if isinstance(e, StreamVoided)]
    assert [(e.attempt, e.next_attempt) for e in voided] == [(1, 2)]
    assert "age must be between 0 and 150" in voided[0].reason
    marker = responses[void_at]
    assert marker.value is None and len(marker.attempts) == 1 and marker.attempts[0].errors
    # the retry carries the feedback: the previous tool call, its result, the errors
    second = scripted_server.requests[1].json["messages"]
    assert "age must be between 0 and 150" in json.dumps(second)
    assert any(isinstance(e, PartialGenerated) for e in events)
    assert any(isinstance(e, ChunkReceived) for e in events)


def test_sequence_across_a_retry_yields_nothing_twice(scripted_server: ScriptedServer) -> None:
    a, b = {"name": "Ann", "age": 30}, {"name": "Bo", "age": 40}
    bad = json.dumps({"items": [a, b, {"name": "Cy", "age": -1}]})
    good = json.dumps({"items": [a, b, {"name": "Cy", "age": 1}, {"name": "Di", "age": 2}]})
    scripted_server.script(
        [streamed("openai", OutputMode.JSON, bad), streamed("openai", OutputMode.JSON, good)]
    )
    so, events = _events(
        client(scripted_server, "openai").with_(
            messages="x", response_model=Sequence.of(User), mode=OutputMode.JSON
        )
    )
    stream = so.stream()
    names = [u.name for u in stream.sequence()]
    assert names == ["Ann", "Bo", "Cy", "Di"]
    assert [u.name for u in stream.final_value()] == names
    completed = [(e.attempt, e.index) for e in events if isinstance(e, SequenceItemCompleted)]
    assert completed == [(1, 0), (1, 1), (2, 2), (2, 3)]


def test_sequence_contradicted_by_the_retry_raises_with_the_final_value(
    scripted_server: ScriptedServer,
) -> None:
    bad = json.dumps({"items": [{"name": "Ann", "age": 30}, {"name": "Bo", "age": 999}]})
    good = json.dumps({"items": [{"name": "Ann", "age": 31}, {"name": "Bo", "age": 40}]})
    scripted_server.script(
        [streamed("openai", OutputMode.JSON, bad), streamed("openai", OutputMode.JSON, good)]
    )
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Sequence.of(User), mode=OutputMode.JSON)
        .stream()
    )
    got = []
    with pytest.raises(SequenceContradictionError, match="item 0 was already yielded") as info:
        for user in stream.sequence():
            got.append(user)
    assert got == [User(name="Ann", age=30)]
    assert info.value.index == 0
    assert info.value.value == [User(name="Ann", age=31), User(name="Bo", age=40)]
    assert stream.final_value() == info.value.value
    assert len(scripted_server.requests) == 2


@pytest.mark.parametrize("wire", WIRES)
def test_stream_cut_midway_is_retried_from_the_start_with_a_void_marker(
    scripted_server: ScriptedServer, wire: str
) -> None:
    text = json.dumps(PERSON)
    full = streamed(wire, OutputMode.JSON, text, piece=3)
    cut = streamed(wire, OutputMode.JSON, text, piece=3, cut_after=len(full.body) // 2)
    scripted_server.script([cut, full])
    so, events = _events(
        client(scripted_server, wire).with_(
            messages="x", response_model=Person, mode=OutputMode.JSON
        )
    )
    responses = list(so.stream().responses())
    kinds = ["void" if r.is_void else "partial" if r.is_partial else "final" for r in responses]
    assert kinds.count("void") == 1 and kinds[0] == "partial" and kinds[-1] == "final"
    assert responses[-1].value == Person.model_validate(PERSON)
    assert len(responses[-1].attempts) == 1  # a transport retry is not a new attempt
    retries = [e for e in events if isinstance(e, RetryScheduled)]
    assert [e.kind for e in retries] == ["transport"]
    voided = [e for e in events if isinstance(e, StreamVoided)]
    assert [(e.attempt, e.next_attempt) for e in voided] == [(1, 1)]
    first, second = scripted_server.requests
    assert first.json == second.json  # the same request again, no feedback


def test_no_void_marker_when_the_failed_try_published_nothing(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(
        [
            Reply.error(503, "busy"),
            streamed("openai", OutputMode.JSON, json.dumps({"name": "Ann", "age": 30})),
        ]
    )
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=User, mode=OutputMode.JSON)
        .stream()
    )
    responses = list(stream.responses())
    assert not any(r.is_void for r in responses) and responses[-1].value == User(name="Ann", age=30)


def test_retries_exhausted_raise_and_stay_raised(scripted_server: ScriptedServer) -> None:
    bad = json.dumps({"name": "Old", "age": 200})
    scripted_server.script([streamed("openai", OutputMode.JSON, bad)] * 2)
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=User, mode=OutputMode.JSON, max_retries=1)
        .stream()
    )
    seen = []
    with pytest.raises(StructuredOutputRetryError) as info:
        for partial in stream.partials():
            seen.append(partial)
    assert len(info.value.attempts) == 2 and seen
    with pytest.raises(StructuredOutputRetryError):
        stream.final_value()
    assert len(scripted_server.requests) == 2  # never a third request


def test_auth_error_fails_at_once(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.error(401, "bad key")])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=User, mode=OutputMode.JSON)
        .stream()
    )
    with pytest.raises(AuthenticationError):
        stream.final_value()
    assert len(scripted_server.requests) == 1


def test_drained_stream_replays_the_cached_result(scripted_server: ScriptedServer) -> None:
    scripted_server.script([streamed("openai", OutputMode.JSON, json.dumps(PERSON))])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Person, mode=OutputMode.JSON)
        .stream()
    )
    assert len(scripted_server.requests) == 0  # lazy: nothing sent before iterating
    response = stream.final_response()
    assert not response.is_partial
    replay = list(stream.partials())
    assert len(replay) == 1 and replay[0].model_dump() == response.value.model_dump()
    assert list(stream.responses()) == [response]
    assert stream.final_value() is response.value
    assert len(scripted_server.requests) == 1


def test_sequence_on_a_non_list_model_is_a_clear_error(scripted_server: ScriptedServer) -> None:
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=User, mode=OutputMode.JSON)
        .stream()
    )
    with pytest.raises(Exception, match=r"sequence\(\) needs a list response model"):
        next(stream.sequence())
    assert len(scripted_server.requests) == 0


def test_scalar_partials_unwrap_the_value(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [streamed("openai", OutputMode.JSON, json.dumps({"value": "héllo wörld"}), piece=2)]
    )
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=str, mode=OutputMode.JSON)
        .stream()
    )
    values = list(stream.partials())
    assert values[-1] == "héllo wörld" and "hé" in values
    assert stream.final_value() == "héllo wörld"


# -- async twins ------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_async_partials_and_sequence(scripted_server: ScriptedServer, wire: str) -> None:
    text = json.dumps(PERSON, ensure_ascii=False)
    scripted_server.script([streamed(wire, OutputMode.TOOLS, text, piece=2)])
    stream = (
        client(scripted_server, wire)
        .with_(messages="x", response_model=Person, mode=OutputMode.TOOLS)
        .astream()
    )
    partials = [p async for p in stream.partials()]
    assert partials[-1].model_dump() == PERSON
    assert await stream.final_value() == Person.model_validate(PERSON)

    items = [{"name": "Ann", "age": 30}, {"name": "Bo", "age": 40}]
    scripted_server.script(
        [streamed(wire, OutputMode.TOOLS, json.dumps({"items": items}), tool_name="UserList")]
    )
    seq = (
        client(scripted_server, wire)
        .with_(messages="x", response_model=Sequence.of(User), mode=OutputMode.TOOLS)
        .astream()
    )
    assert [u async for u in seq.sequence()] == [User.model_validate(i) for i in items]
    assert [u async for u in seq.sequence()] == [User.model_validate(i) for i in items]
    assert len(scripted_server.requests) == 2


async def test_async_retry_and_cut_emit_void_markers(scripted_server: ScriptedServer) -> None:
    bad = json.dumps({"name": "Old", "age": 200})
    good = json.dumps({"name": "Ann", "age": 30})
    full = streamed("anthropic", OutputMode.JSON, good)
    scripted_server.script(
        [
            streamed("anthropic", OutputMode.JSON, bad),
            streamed("anthropic", OutputMode.JSON, good, cut_after=len(full.body) // 2),
            full,
        ]
    )
    so, events = _events(
        client(scripted_server, "anthropic").with_(
            messages="x", response_model=User, mode=OutputMode.JSON
        )
    )
    responses = [r async for r in so.astream().responses()]
    assert sum(r.is_void for r in responses) == 2
    assert responses[-1].value == User(name="Ann", age=30)
    voided = [(e.attempt, e.next_attempt) for e in events if isinstance(e, StreamVoided)]
    assert voided == [(1, 2), (2, 2)]
    assert len(scripted_server.requests) == 3


def test_md_json_prose_with_braces_produces_no_void_marker(scripted_server: ScriptedServer) -> None:
    scripted_server.script([streamed("openai", OutputMode.MD_JSON, json.dumps(PERSON), piece=1)])
    stream = (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Person, mode=OutputMode.MD_JSON)
        .stream()
    )
    responses = list(stream.responses())
    assert not any(r.is_void for r in responses)
    assert len(responses) > 20 and responses[-1].value == Person.model_validate(PERSON)
    assert responses[0].value.name == ""  # the first partial is the real document's


@pytest.mark.parametrize("wire", WIRES)
def test_streaming_never_shows_the_api_key(scripted_server: ScriptedServer, wire: str) -> None:
    text = json.dumps(PERSON)
    full = streamed(wire, OutputMode.JSON, text)
    scripted_server.script(
        [streamed(wire, OutputMode.JSON, text, cut_after=len(full.body) // 2), full]
    )
    so, events = _events(
        client(scripted_server, wire).with_(
            messages="x", response_model=Person, mode=OutputMode.JSON
        )
    )
    stream = so.stream()
    responses = list(stream.responses())
    seen = [repr(stream), *map(repr, events), *(repr(r.value) for r in responses)]
    assert events and all(API_KEY not in s for s in seen)
    scripted_server.script([Reply.error(401, "invalid key")])
    failing = (
        client(scripted_server, wire)
        .with_(messages="x", response_model=Person, mode=OutputMode.JSON)
        .stream()
    )
    with pytest.raises(AuthenticationError) as info:
        failing.final_value()
    assert API_KEY not in str(info.value) and API_KEY not in repr(failing)
