"""Streaming constraint checking of remote answers: the order-free checking grammar (unit and a
property test over every maskbench schema's valid instances), and end to end on the scripted
loopback server: an answer invalid in its first bytes is cut early and the retry carries the
precise error; valid answers are never cut; ``check_stream=False`` turns it off."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from instructor_py import (
    OutputMode,
    Sequence,
    StreamStopped,
    StructuredOutput,
    StructuredOutputRetryError,
)
from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.streaming.check import BATCH, CHECKED_BYTES, DocumentCheck
from tests.support.maskbench import find_maskbench_dir
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w
from tests.support.streamed_replies import MODES, WIRES, client, wrap_text

pytest.importorskip("llguidance", reason="streaming constraint checking uses the engine (llguidance)")

from instructor_py.engine.answer_check import AnswerMatcher, checking_grammar

MASKBENCH = find_maskbench_dir(Path(__file__).resolve().parents[2])


class Pet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cat", "dog"]
    name: str = Field(max_length=5)


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    age: int
    pets: list[Pet] = Field(default_factory=list, max_length=2)


SCHEMA = Person.model_json_schema()


class ChunkProvider:
    """An in-process provider answering ``text`` in chunks (sizes drawn from ``sizes``);
    ``streams_answers`` says whether ``get()`` may stream it. ``calls`` records what was used."""

    name = "chunks"
    default_model = "m"
    default_mode = OutputMode.JSON
    supported_modes = frozenset({OutputMode.JSON, OutputMode.MD_JSON})

    def __init__(self, text: str, *, streams: bool = False, sizes: tuple[int, ...] = (4,), seed: int = 0) -> None:
        self.text = text
        self.streams_answers = streams
        self.sizes = sizes
        self.seed = seed
        self.calls: list[str] = []

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        self.calls.append("infer")
        return InferenceResponse(content=self.text, finish_reason="stop", usage=Usage(1, 1))

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return self.infer(request)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        self.calls.append("stream")
        rng = random.Random(self.seed)
        at = 0
        while at < len(self.text):
            size = rng.choice(self.sizes)
            yield InferenceDelta(content=self.text[at : at + size])
            at += size
        yield InferenceDelta(finish_reason="stop", usage=Usage(1, 1))

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        for delta in self.stream(request):
            yield delta


def first_rejected(text: str, schema: Any = SCHEMA) -> int | None:
    return AnswerMatcher(schema).feed(text.encode())


# --- the checking grammar -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ('{"name": "Ann", "age": "25"}', '{"name": "Ann", "age": "'),  # wrong type
        ('{"name": "Ann", "nick": "A"}', '{"name": "Ann", "nick"'),  # forbidden key
        ('{"pets": [{"kind": "cow"}]}', '{"pets": [{"kind": "cow"'),  # no enum option
        ('{"pets": [{"name": "Rexford"}]}', '{"pets": [{"name": "Rexfor'),  # over maxLength
        ('{"pets": [{}, {}, {}]}', '{"pets": [{}, {},'),  # over maxItems
    ],
)
def test_definite_violations_are_rejected_at_the_first_impossible_byte(text: str, at: str) -> None:
    assert first_rejected(text) == len(at.encode()) - 1  # `at` ends with the impossible byte


@pytest.mark.parametrize(
    "text",
    [
        '{"age": 25, "name": "Ann"}',  # any key order
        '{ "name" :"Ann" ,\n\t"age":2.5e1 }',  # whitespace, number forms (the pipeline judges)
        '{"name": "caf\\u00e9 \\"q\\" é", "age": 1}',  # escapes and raw UTF-8
        '{"n\\u0061me": "Ann", "age": 1}',  # an escaped key may spell an allowed name
        '{"pets": [{"kind": "d\\u006fg", "name": "Rex"}], "name": "A", "age": 1}',
        '{"name": "Ann"}',  # missing keys are the pipeline's business
        '{"name": "Ann", "age": 1} trailing prose is not part of the answer',
    ],
)
def test_valid_spellings_are_never_rejected(text: str) -> None:
    assert first_rejected(text) is None


def test_only_the_first_checked_bytes_of_a_document_are_checked() -> None:
    late = '{"name": "' + "a" * CHECKED_BYTES + '", "age": "x"}'
    check = DocumentCheck(AnswerMatcher(SCHEMA), SCHEMA)
    for i in range(0, len(late), 100):
        assert check.feed(late[i : i + 100], done=i + 100 >= len(late)) is None
    assert first_rejected(late) is not None  # the matcher itself would have refused it


def test_the_grammar_follows_refs_and_combinators() -> None:
    schema = {
        "$defs": {"node": {"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}, "v": {"type": "integer"}}, "additionalProperties": False}},
        "$ref": "#/$defs/node",
    }
    assert "n" in checking_grammar(schema)
    assert first_rejected('{"v": 1, "next": {"next": null, "v": 2}}', schema) is None
    assert first_rejected('{"next": {"v": "x"', schema) == len('{"next": {"v": ')


def _variants(value: Any, rng: random.Random) -> list[str]:
    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            items = list(v.items())
            rng.shuffle(items)
            return {k: shuffled(x) for k, x in items}
        if isinstance(v, list):
            return [shuffled(x) for x in v]
        return v

    return [
        json.dumps(value),
        json.dumps(shuffled(value), indent=rng.choice([None, 1, 4]), ensure_ascii=rng.random() < 0.5),
    ]


def _maskbench() -> Iterator[tuple[str, Any, list[Any]]]:
    """(file name, schema, test instances) of every maskbench schema."""
    if MASKBENCH is None:
        pytest.skip("shared/maskbench not found next to the repository (or above it)")
    for path in sorted(MASKBENCH.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        yield path.name, raw["schema"], [test["data"] for test in raw.get("tests", [])]


def test_property_valid_maskbench_instances_are_never_cut() -> None:
    """Every valid object instance of every maskbench schema (valid by the pipeline's own
    jsonschema check), in two spellings (key order shuffled, whitespace, escapes), fed through
    the document check in random chunks: never rejected. And the check is not vacuous: invalid
    instances are rejected."""
    rng = random.Random(13)
    checked = rejected_invalid = 0
    for name, schema, instances in _maskbench():
        validator = Draft202012Validator(schema)
        prototype = AnswerMatcher(schema)
        assert prototype.exact, name
        for data in instances:
            if not isinstance(data, dict):
                continue
            if not validator.is_valid(data):
                rejected_invalid += prototype.fresh().feed(json.dumps(data).encode()) is not None
                continue
            for text in _variants(data, rng):
                assert prototype.fresh().feed(text.encode()) is None, (name, text)
                check = DocumentCheck(prototype.fresh(), schema)
                at = 0
                while at < len(text):
                    size = rng.choice([1, 7, BATCH, 3 * BATCH])
                    piece = text[at : at + size]
                    at += size
                    assert check.feed(piece, done=at >= len(text)) is None, (name, text)
                checked += 1
    assert checked > 1000
    assert rejected_invalid > 100


def test_property_get_never_cuts_a_valid_maskbench_instance() -> None:
    """The same property through the public ``get()``: for one valid object instance of every
    maskbench schema (spelled with shuffled keys and whitespace), a provider that streams its
    answers in random chunks is checked by default and never cut; the pipeline's own verdict
    is the same as with ``check_stream=False``."""
    rng = random.Random(7)
    streamed = answered = 0
    for name, schema, instances in _maskbench():
        valid = [data for data in instances if isinstance(data, dict) and Draft202012Validator(schema).is_valid(data)]
        if not valid or schema.get("type") != "object":  # the SDK's JSON-schema models are objects
            continue
        text = _variants(rng.choice(valid), rng)[1]
        stopped: list[StreamStopped] = []
        provider = ChunkProvider(text, streams=True, sizes=(1, 5, 64, BATCH + 3), seed=rng.randrange(1000))
        try:
            builder = StructuredOutput().with_provider(provider).with_(messages="x", response_model=schema, max_retries=0)
            checked: Any = builder.on_event(StreamStopped, stopped.append).get()
        except Exception as error:  # the schema or answer is one the pipeline refuses
            checked = type(error)
        assert not stopped, (name, text, stopped)
        plain = ChunkProvider(text)
        try:
            unchecked: Any = StructuredOutput().with_provider(plain).with_(messages="x", response_model=schema, max_retries=0, check_stream=False).get()
        except Exception as error:
            unchecked = type(error)
        assert checked == unchecked, name
        streamed += provider.calls == ["stream"]
        answered += not isinstance(checked, type)
    assert streamed > 300 and answered > 300, (streamed, answered)


# --- end to end on the scripted loopback server -------------------------------------------------

TAIL = "x" * 150_000
BAD = '{"name": "Ann", "age": "twenty' + TAIL + '"}'
GOOD = '{"name": "Ann", "age": 25}'


def _reply(wire: str, mode: OutputMode, text: str) -> Reply:
    if mode is OutputMode.TOOLS:
        events = (
            w.anthropic_stream(tool_json=text, tool_name="Person", piece=400)
            if wire == "anthropic"
            else w.openai_stream(tool_args=text, tool_name="Person", piece=400)
        )
    else:
        body = wrap_text(text, mode)
        events = (
            w.anthropic_stream(body, piece=400) if wire == "anthropic" else w.openai_stream(body, piece=400)
        )
    return Reply.sse(events, chunk_sizes=(512, 512), pause=0.003)


def _bad_reply_sent(server: ScriptedServer) -> tuple[int, int]:
    """(bytes written, body size) of the long bad reply: its handler records once its write
    fails after the client closed the stream (it may finish after the retry's reply)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        long = [row for row in server.sent if row[1] > 100_000]
        if long:
            return long[0]
        time.sleep(0.02)
    raise AssertionError(f"the long reply was never finished: {server.sent}")


CASES = [(wire, mode) for wire in WIRES for mode in MODES[wire]]


@pytest.mark.parametrize(("wire", "mode"), CASES)
def test_an_answer_invalid_in_its_first_bytes_is_cut_and_the_retry_carries_the_error(
    scripted_server: ScriptedServer, wire: str, mode: OutputMode
) -> None:
    scripted_server.script([_reply(wire, mode, BAD), _reply(wire, mode, GOOD)])
    stopped: list[StreamStopped] = []
    stream = (
        client(scripted_server, wire)
        .with_(messages="Ann is 25", response_model=Person, mode=mode)
        .on_event(StreamStopped, stopped.append)
        .stream()
    )
    assert stream.final_value() == Person(name="Ann", age=25)
    sent, size = _bad_reply_sent(scripted_server)
    assert sent < size / 10, (sent, size)  # the stream was closed early
    assert len(stopped) == 1 and stopped[0].received_bytes < 1000
    error = stopped[0].errors[0]
    assert error.startswith("$.age: the answer stopped fitting the schema") and "'integer'" in error
    retry = scripted_server.requests[1].json
    feedback = json.dumps(retry.get("messages", []))
    assert "$.age: the answer stopped fitting the schema" in feedback
    attempts = stream.final_response().attempts
    assert attempts[0].stage == "schema" and len(attempts[0].content) < 5000


@pytest.mark.parametrize(("wire", "mode"), CASES)
def test_valid_answers_stream_to_the_end(scripted_server: ScriptedServer, wire: str, mode: OutputMode) -> None:
    long_name = "Ann " + "de " * 3000
    good = json.dumps({"name": long_name, "age": 25, "pets": [{"kind": "dog", "name": "Rex"}]})
    scripted_server.script([_reply(wire, mode, good)])
    value = (
        client(scripted_server, wire)
        .with_(messages="x", response_model=Person, mode=mode, max_retries=0)
        .stream()
        .final_value()
    )
    assert value.name == long_name
    (sent, size), = scripted_server.wait_sent(1)
    assert sent == size


def test_check_stream_false_reads_the_whole_answer(scripted_server: ScriptedServer) -> None:
    scripted_server.script([_reply("openai", OutputMode.JSON, BAD)])
    builder = client(scripted_server, "openai").with_(
        messages="x", response_model=Person, mode="json", max_retries=0, check_stream=False
    )
    with pytest.raises(StructuredOutputRetryError) as info:
        builder.stream().final_value()
    (sent, size), = scripted_server.wait_sent(1)
    assert sent == size
    assert info.value.attempts[0].stage == "schema"  # found by the pipeline, at the end


@pytest.mark.parametrize(("wire", "mode"), CASES)
def test_plain_get_streams_and_cuts_a_bad_answer_by_default(
    scripted_server: ScriptedServer, wire: str, mode: OutputMode
) -> None:
    """``get()`` on a provider that streams its answers streams and checks them: the bad answer
    is cut within its first bytes, the retry carries the precise error, and the response keeps
    what a whole answer gives (usage of the delivered answer, the raw response, every attempt)."""
    scripted_server.script([_reply(wire, mode, BAD), _reply(wire, mode, GOOD)])
    stopped: list[StreamStopped] = []
    response = (
        client(scripted_server, wire)
        .with_(messages="Ann is 25", response_model=Person, mode=mode)
        .on_event(StreamStopped, stopped.append)
        .create()
        .response()
    )
    assert response.value == Person(name="Ann", age=25)
    assert [r.json.get("stream") for r in scripted_server.requests] == [True, True]
    sent, size = _bad_reply_sent(scripted_server)
    assert sent < size / 10, (sent, size)
    assert len(stopped) == 1 and stopped[0].received_bytes < 1000
    feedback = json.dumps(scripted_server.requests[1].json.get("messages", []))
    assert "$.age: the answer stopped fitting the schema" in feedback
    first, second = response.attempts
    assert first.stage == "schema" and first.errors[0].startswith("$.age: the answer stopped fitting")
    assert len(first.content) < 5000 and second.succeeded
    assert response.usage.input_tokens == 10 and response.usage.output_tokens == 5  # the delivered one
    raw = response.raw_response  # the body a whole answer would have had, as get() gives it
    assert second.raw_response is raw
    if wire == "anthropic":
        assert raw["type"] == "message" and raw["id"] == "msg_01" and raw["usage"]["output_tokens"] == 5
        block = raw["content"][-1]
        assert (block["input"] if mode is OutputMode.TOOLS else json.loads(block["text"].split("```json")[-1].split("```")[0])) == json.loads(GOOD)
    else:
        assert raw["object"] == "chat.completion" and raw["id"] == "chatcmpl-1" and raw["usage"]["completion_tokens"] == 5
        message = raw["choices"][0]["message"]
        text = message["tool_calls"][0]["function"]["arguments"] if mode is OutputMode.TOOLS else message["content"]
        assert GOOD in text


def test_check_stream_false_makes_get_read_the_whole_answer(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.json(w.openai_chat(tool_args=BAD, tool_name="Person"))])
    builder = client(scripted_server, "openai").with_(
        messages="x", response_model=Person, max_retries=0, check_stream=False
    )
    with pytest.raises(StructuredOutputRetryError) as info:
        builder.get()
    assert scripted_server.requests[0].json.get("stream") is None  # sent once, answered whole
    (sent, size), = scripted_server.wait_sent(1)
    assert sent == size and size > len(TAIL)
    assert info.value.attempts[0].stage == "schema"  # found by the pipeline, at the end


def test_get_stays_whole_where_streaming_would_lose_usage(scripted_server: ScriptedServer) -> None:
    """A preset whose streams carry no usage (llama-cpp-python's server) keeps ``get()`` whole
    (``check_stream=True`` streams it anyway); so does a provider that does not say it streams."""
    scripted_server.script([Reply.json(w.openai_chat(tool_args=GOOD, tool_name="Person"))] * 2)
    base = StructuredOutput().using("llamacpp-server", base_url=scripted_server.openai_url, model=w.MODEL)
    assert base.with_(messages="x", response_model=Person, mode="tools").get() == Person(name="Ann", age=25)
    assert scripted_server.requests[0].json.get("stream") is None
    forced = base.with_(messages="x", response_model=Person, mode="tools", check_stream=True)
    assert forced.get() == Person(name="Ann", age=25)
    assert scripted_server.requests[1].json.get("stream") is True
    own = ChunkProvider(GOOD)
    assert StructuredOutput().with_provider(own).with_("x", Person).get() == Person(name="Ann", age=25)
    assert own.calls == ["infer"]


async def test_aget_streams_and_cuts_by_default(scripted_server: ScriptedServer) -> None:
    scripted_server.script([_reply("anthropic", OutputMode.TOOLS, BAD), _reply("anthropic", OutputMode.TOOLS, GOOD)])
    person = await client(scripted_server, "anthropic").with_(messages="x", response_model=Person).aget()
    assert person == Person(name="Ann", age=25)
    sent, size = _bad_reply_sent(scripted_server)
    assert sent < size / 10


async def test_astream_is_checked_too(scripted_server: ScriptedServer) -> None:
    scripted_server.script([_reply("anthropic", OutputMode.JSON, BAD), _reply("anthropic", OutputMode.JSON, GOOD)])
    stream = client(scripted_server, "anthropic").with_(messages="x", response_model=Person, mode="json").astream()
    assert await stream.final_value() == Person(name="Ann", age=25)
    sent, size = _bad_reply_sent(scripted_server)
    assert sent < size / 10


def test_the_sdk_streams_unchecked_without_the_engine() -> None:
    """With llguidance unimportable the SDK imports and streams; answers are validated at the end."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["llguidance"] = None  # the local extra is not installed
        from pydantic import BaseModel
        from instructor_py import StructuredOutput
        from tests.streaming.test_locator_reasoning import ChunkProvider

        class User(BaseModel):
            name: str
            age: int

        stream = StructuredOutput().with_provider(ChunkProvider('{"name": "J", "age": 2}')).with_("x", User).stream()
        assert stream._state.session.checked is False
        print(stream.final_value())
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=False)
    assert done.returncode == 0, done.stderr
    assert "name='J' age=2" in done.stdout


async def test_aget_checks_a_sequence(scripted_server: ScriptedServer) -> None:
    bad = '{"items": [{"name": "Ann", "age": 25}, {"name": "Bob", "age": "x' + TAIL + '"}]}'
    good = '{"items": [{"name": "Ann", "age": 25}, {"name": "Bob", "age": 30}]}'
    scripted_server.script([_reply("openai", OutputMode.JSON, bad), _reply("openai", OutputMode.JSON, good)])
    people = await (
        client(scripted_server, "openai")
        .with_(messages="x", response_model=Sequence.of(Person), mode="json")
        .aget()
    )
    assert [p.name for p in people] == ["Ann", "Bob"]
    sent, size = _bad_reply_sent(scripted_server)
    assert sent < size / 10


# --- with tolerant parsing (the default) --------------------------------------------------------

READABLE = '{"age": "25", "name": "' + "Ann Lee " * 80 + '"}'  # strict JSON refuses "25"


@pytest.mark.parametrize("wire", WIRES)
def test_a_value_the_tolerant_parser_reads_is_not_cut(
    scripted_server: ScriptedServer, wire: str
) -> None:
    """The matcher refuses ``"25"`` where an integer goes; the tolerant parser reads it, so the
    answer streams to the end and is read in one attempt. With strict parsing it is cut."""
    scripted_server.script([_reply(wire, OutputMode.JSON, READABLE)])
    stopped: list[StreamStopped] = []
    response = (
        client(scripted_server, wire)
        .with_(messages="Ann is 25", response_model=Person, mode=OutputMode.JSON)
        .on_event(StreamStopped, stopped.append)
        .stream()
        .final_response()
    )
    assert response.value.age == 25 and len(response.attempts) == 1 and not stopped
    assert any(r.path == "$.age" for r in response.repairs)

    scripted_server.script([_reply(wire, OutputMode.JSON, READABLE), _reply(wire, OutputMode.JSON, GOOD)])
    strict = (
        client(scripted_server, wire)
        .with_(messages="Ann is 25", response_model=Person, mode=OutputMode.JSON)
        .with_parsing("strict")
        .on_event(StreamStopped, stopped.append)
        .stream()
        .final_response()
    )
    assert len(strict.attempts) == 2 and len(stopped) == 1
    assert strict.attempts[0].errors[0].startswith("$.age: the answer stopped fitting the schema")


def test_a_refused_value_that_stays_unreadable_is_cut_within_a_batch() -> None:
    schema = Person.model_json_schema() | {"additionalProperties": False}
    check = DocumentCheck(AnswerMatcher(schema).fresh(), schema, tolerant=schema)
    text = '{"age": "twenty' + "x" * 5000
    failure = None
    for i in range(0, len(text), 64):
        failure = check.feed(text[i : i + 64], done=False)
        if failure is not None:
            break
    assert failure is not None and i < 3 * BATCH, i
    assert failure.errors[0].path == "$.age"
