"""End to end through the public API against llama-cpp-python's real OpenAI-compatible server
with the embedded SmolLM2-135M model (started once per session by the ``llama_server`` fixture).
Greedy decoding (temperature 0) and a small schema the 135M model fills reliably."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput
from instructor_py.providers.base import InferenceRequest
from instructor_py.providers.registry import create_provider
from tests.support.servers.llama import MODEL_ALIAS, LlamaServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]

PROMPT = "Extract the person: Jason is 25 years old."
OPTIONS = {"temperature": 0, "max_tokens": 48, "seed": 1}


class Person(BaseModel):
    name: str
    age: int


def client(server: LlamaServer, mode: OutputMode) -> StructuredOutput:
    return (
        StructuredOutput()
        .using("llamacpp-server", base_url=server.url, model=MODEL_ALIAS, timeout=120)
        .with_(messages=PROMPT, response_model=Person, mode=mode, options=OPTIONS, max_retries=1)
    )


def test_json_schema_mode_get(llama_server: LlamaServer) -> None:
    response = client(llama_server, OutputMode.JSON_SCHEMA).response()
    assert isinstance(response.value, Person)
    assert response.value.age == 25 and "jason" in response.value.name.lower()
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.raw_response["choices"][0]["message"]["content"]


def test_tools_mode_get(llama_server: LlamaServer) -> None:
    person = client(llama_server, OutputMode.TOOLS).get()
    assert isinstance(person, Person)
    assert person.age == 25 and "jason" in person.name.lower()


async def test_tools_mode_aget(llama_server: LlamaServer) -> None:
    person = await client(llama_server, OutputMode.TOOLS).aget()
    assert isinstance(person, Person)
    assert person.age == 25 and "jason" in person.name.lower()


def test_driver_streams_json_schema_deltas(llama_server: LlamaServer) -> None:
    provider = create_provider("llamacpp-server", base_url=llama_server.url, model=MODEL_ALIAS)
    request = InferenceRequest(
        messages=({"role": "user", "content": PROMPT},),
        mode=OutputMode.JSON_SCHEMA,
        response_schema=Person.model_json_schema(),
        schema_name="Person",
        model=MODEL_ALIAS,  # requests carry their model (resolved by build_plan for builders)
        options=OPTIONS,
    )
    deltas = list(provider.stream(request))
    assert len([d for d in deltas if d.content]) > 3  # really streamed, token by token
    assert deltas[-1].finish_reason == "stop"
    assert Person.model_validate(json.loads("".join(d.content for d in deltas))).age == 25
