"""End to end: stream() against llama-cpp-python's real OpenAI-compatible server with the embedded
SmolLM2-135M model (``stream=True``, token by token), through the public API."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, PartialList, Sequence, StructuredOutput, partial_model
from instructor_py.run.events import ChunkReceived, Event
from tests.support.servers.llama import MODEL_ALIAS, LlamaServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]

OPTIONS = {"temperature": 0, "max_tokens": 64, "seed": 1}


class Person(BaseModel):
    name: str
    age: int


def client(server: LlamaServer) -> StructuredOutput:
    return StructuredOutput().using(
        "llamacpp-server", base_url=server.url, model=MODEL_ALIAS, timeout=120
    )


@pytest.mark.parametrize("mode", [OutputMode.JSON_SCHEMA, OutputMode.TOOLS])
def test_partials_stream_token_by_token(llama_server: LlamaServer, mode: OutputMode) -> None:
    events: list[Event] = []
    stream = (
        client(llama_server)
        .with_(
            messages="Extract the person: Jason is 25 years old.",
            response_model=Person,
            mode=mode,
            options=OPTIONS,
            max_retries=1,
        )
        .wiretap(events.append)
        .stream()
    )
    partials = list(stream.partials())
    person = stream.final_value()
    assert isinstance(person, Person) and person.age == 25 and "jason" in person.name.lower()
    assert len(partials) >= 3 and all(isinstance(p, partial_model(Person)) for p in partials)
    names = [p.name for p in partials if p.name]
    assert names and all(person.name.startswith(n) for n in names)
    assert partials[-1].model_dump() == person.model_dump()
    assert sum(isinstance(e, ChunkReceived) for e in events) > 3  # really streamed


async def test_async_sequence_items_match_the_final_list(llama_server: LlamaServer) -> None:
    stream = (
        client(llama_server)
        .with_(
            messages="List the people: Jason is 25 years old. Anna is 31 years old.",
            response_model=Sequence.of(Person),
            mode=OutputMode.JSON_SCHEMA,
            options={**OPTIONS, "max_tokens": 96},
            max_retries=1,
        )
        .astream()
    )
    items = [item async for item in stream.sequence()]
    final = await stream.final_value()
    assert items and all(isinstance(i, Person) for i in items)
    assert items == final  # every item of the final list, once, in order
    replay = [p async for p in stream.partials()]
    assert isinstance(replay[0], PartialList) and len(replay[0]) == len(final)
