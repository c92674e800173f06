"""The batch API end to end through the public API: over the scripted loopback HTTP server
(both wire formats; a failing item among good ones, input order kept whatever order the
answers come in, a 429 Retry-After honoured by the whole batch) and on the embedded local model."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from pydantic import BaseModel

from instructor_py import (
    RateLimitError,
    RetryScheduled,
    StructuredOutput,
    StructuredOutputResponse,
    StructuredOutputRetryError,
)
from instructor_py.common.modes import OutputMode
from tests.support.batch_fakes import EDGES, Person, run
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers.scripted import RecordedRequest
from tests.support.smollm2 import needs_model
from tests.support.wire_formats import OPENAI, WIRES, Wire

pytestmark = pytest.mark.e2e


def first_user_text(request: RecordedRequest) -> str:
    for message in request.json["messages"]:
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):  # Anthropic content blocks
                content = "".join(b.get("text", "") for b in content)
            return str(content)
    raise AssertionError("no user message")


class PeopleServer:
    """Answers each request from its first user message (``"Ann is 30"`` -> that person), so
    concurrent requests get their own answers; records when each input's requests arrived."""

    def __init__(self, server: ScriptedServer, wire: Wire, delays: dict[str, float] | None = None):
        self.server = server
        self.wire = wire
        self.delays = delays or {}
        self.arrivals: dict[str, list[float]] = {}
        self.first_reply: dict[str, Reply] = {}
        self._lock = threading.Lock()
        server.respond_with(self.respond)

    def respond(self, request: RecordedRequest) -> Reply:
        text = first_user_text(request)
        with self._lock:
            self.arrivals.setdefault(text, []).append(time.monotonic())
            scripted = self.first_reply.pop(text, None)
        if scripted is not None:
            return scripted
        found = re.match(r"(\w+) is (\d+)", text)
        assert found is not None, text
        reply = self.wire.answer({"name": found.group(1), "age": int(found.group(2))}, OutputMode.TOOLS)
        return Reply(**{**reply.__dict__, "delay": self.delays.get(text, 0.0)})


NAMES = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("wire", WIRES, ids=[w.preset for w in WIRES])
def test_a_batch_keeps_input_order_and_returns_a_failing_item_in_its_place(
    scripted_server: ScriptedServer, wire: Wire, edge: str
) -> None:
    inputs = [f"{name} is {30 + i}" for i, name in enumerate(NAMES)]
    inputs[3] = "Kid is 5"  # always too young: its retries run out
    # the early items answer slowest, so the answers arrive in reverse order
    delays = {text: 0.03 * (len(inputs) - i) for i, text in enumerate(inputs)}
    people = PeopleServer(scripted_server, wire, delays)
    builder = wire.client(scripted_server).with_(response_model=Person, max_retries=1)
    done: list[tuple[int, int]] = []
    results = run(builder, inputs, edge, concurrency=6, progress=lambda d, t: done.append((d, t)))

    assert len(results) == len(inputs)
    for i, result in enumerate(results):
        if i == 3:
            assert isinstance(result, StructuredOutputRetryError)
            assert len(result.attempts) == 2
            assert all("at least 18" in " ".join(a.errors) for a in result.attempts)
        else:
            assert isinstance(result, StructuredOutputResponse)
            assert result.value == Person(name=NAMES[i], age=30 + i)
    assert len(people.arrivals["Kid is 5"]) == 2
    assert sum(len(v) for v in people.arrivals.values()) == len(inputs) + 1
    assert done[0] == (0, 6) and done[-1] == (6, 6) and len(done) == 7


@pytest.mark.parametrize("edge", EDGES)
def test_a_429_retry_after_holds_back_every_worker_of_the_batch(
    scripted_server: ScriptedServer, edge: str
) -> None:
    """Ann's first request gets 429 with Retry-After 0.6 s, answered after 0.1 s. Bob is in
    flight beside it and finishes after 0.3 s; his worker then has Cid to send, and must hold it
    until the 0.6 s are over (0.7 s). The measure is when the server saw each request arrive."""
    people = PeopleServer(scripted_server, OPENAI, {"Bob is 31": 0.3})
    people.first_reply["Ann is 30"] = Reply.error(
        429, "slow down", headers={"Retry-After": "0.6"}, delay=0.1
    )
    events: list[RetryScheduled] = []
    builder = (
        OPENAI.client(scripted_server)
        .with_(response_model=Person)
        .on_event(RetryScheduled, events.append)
    )
    inputs = ["Ann is 30", "Bob is 31", "Cid is 32", "Dee is 33"]
    results = run(builder, inputs, edge, concurrency=2)

    assert [r.value.name for r in results] == ["Ann", "Bob", "Cid", "Dee"]
    start = people.arrivals["Ann is 30"][0]
    assert people.arrivals["Bob is 31"][0] - start < 0.1  # both sent at the start
    for text in ("Cid is 32", "Dee is 33"):
        waited = people.arrivals[text][0] - start
        assert waited >= 0.65, (text, waited)  # not at ~0.3 s, when Bob's worker was free
    assert people.arrivals["Ann is 30"][1] - start >= 0.65  # Ann's own retry waited too
    assert [(e.kind, e.delay) for e in events] == [("transport", 0.6)]


@pytest.mark.parametrize("edge", EDGES)
def test_rate_limits_that_never_end_are_each_items_error(
    scripted_server: ScriptedServer, edge: str
) -> None:
    scripted_server.script([], default=Reply.error(429, "quota", headers={"Retry-After": "0"}))
    builder = OPENAI.client(scripted_server).with_(response_model=Person)
    results = run(builder, ["Ann is 30", "Bob is 31"], edge)
    assert all(isinstance(r, RateLimitError) and r.status == 429 for r in results)
    assert len(scripted_server.requests) == 2 * 3  # one try + FAST_TRANSPORT's 2 retries each


# -- the embedded local model ----------------------------------------------------------------

class City(BaseModel):
    city: str
    country: str


@needs_model
@pytest.mark.timeout(300)
@pytest.mark.parametrize("edge", EDGES)
def test_a_batch_on_the_embedded_model_equals_the_calls_one_by_one(edge: str) -> None:
    builder = (
        StructuredOutput()
        .using("local")
        .with_(response_model=City, options={"max_tokens": 48}, max_retries=0)
    )
    inputs = [
        "Paris is the capital of France.",
        "Berlin is the capital of Germany.",
        {"messages": "Rome is the capital of Italy.", "system": "Extract the city and its country."},
    ]
    results = run(builder, inputs, edge, concurrency=3)
    alone = [builder.with_(**(i if isinstance(i, dict) else {"messages": i})).get() for i in inputs]
    assert [r.value for r in results] == alone  # greedy: the same answers, in input order
    assert results[0].value.city == "Paris" and results[1].value.city == "Berlin"
    assert json.loads(results[2].raw_text)["city"] == "Rome"
