"""Templates and thinking on remote providers, end to end against the scripted loopback server
(both wire formats): the template goes into the prompt, the answer is parsed with the template's
own pattern, and a mismatch is a validation failure fed back to the model."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput, StructuredOutputRetryError
from instructor_py.common.modes import OutputMode
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w
from tests.support.wire_formats import ANTHROPIC, WIRES, Wire

pytestmark = pytest.mark.e2e
WIRE_IDS = [w.preset for w in WIRES]

TEMPLATE = (
    "Name: {{gen 'name' stop='\\n'}}\nAge: {{gen 'age' regex='[0-9]+'}}\n"
    "Mood: {{select 'mood' options=['happy', 'sad']}}\nTags: {{json 'tags' schema=Tags}}"
)
TAGS = {"type": "array", "items": {"type": "string"}}
GOOD = 'Name: Jason\nAge: 25\nMood: happy\nTags: ["a","b"]'


class Person(BaseModel):
    name: str
    age: int
    mood: str
    tags: list[str]


def _system(wire: Wire, body: dict[str, Any]) -> str:
    if wire is ANTHROPIC:
        system = body["system"]
        return system if isinstance(system, str) else system[0]["text"]
    return str(body["messages"][0]["content"])


def _last_user(wire: Wire, body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else content[0]["text"]


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_a_remote_template_answer_is_parsed_with_the_template(
    scripted_server: ScriptedServer, wire: Wire
) -> None:
    scripted_server.script([wire.text("Sure.\n" + GOOD)])
    value = (
        wire.client(scripted_server)
        .with_(messages="Jason, 25, happy, tags a and b")
        .with_template(TEMPLATE, {"Tags": TAGS})
        .get()
    )
    assert value == {"name": "Jason", "age": "25", "mood": "happy", "tags": ["a", "b"]}
    body = scripted_server.requests[0].json
    system = _system(wire, body)
    assert "filling in this template" in system and "Mood: <mood>" in system
    assert "'happy', 'sad'" in system and '"type":"array"' in system
    assert "tools" not in body and "response_format" not in body  # a plain-text answer
    assert "JSON object that satisfies" not in system


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_a_mismatch_is_fed_back_and_retried(scripted_server: ScriptedServer, wire: Wire) -> None:
    scripted_server.script([wire.text(GOOD.replace("happy", "grumpy")), wire.text(GOOD)])
    person = (
        wire.client(scripted_server)
        .with_(messages="Jason, 25", response_model=Person, max_retries=1)
        .with_template(TEMPLATE, {"Tags": TAGS})
        .get()
    )
    assert person == Person(name="Jason", age=25, mood="happy", tags=["a", "b"])
    feedback = _last_user(wire, scripted_server.requests[1].json)
    assert "does not follow the template" in feedback and "'mood'" in feedback


@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_retries_run_out_on_answers_that_never_fit(
    scripted_server: ScriptedServer, wire: Wire
) -> None:
    scripted_server.script([wire.text("no idea"), wire.text("still no idea")])
    client = (
        wire.client(scripted_server)
        .with_(messages="x", max_retries=1)
        .with_template(TEMPLATE, {"Tags": TAGS})
    )
    with pytest.raises(StructuredOutputRetryError) as info:
        client.get()
    assert len(info.value.attempts) == 2


def test_thinking_on_a_remote_provider_is_a_prompt_not_a_parameter(
    scripted_server: ScriptedServer,
) -> None:
    wire = WIRES[0]
    scripted_server.script(
        [wire.text('Jason is 25, so: {"name":"Jason","age":25,"mood":"ok","tags":[]}')]
    )
    person = (
        wire.client(scripted_server)
        .with_(messages="Jason is 25", response_model=Person, mode=OutputMode.JSON, thinking=50)
        .get()
    )
    assert person.age == 25
    body = scripted_server.requests[0].json
    assert "think step by step" in _system(wire, body)
    assert "thinking" not in body


def test_examples_are_shown_as_filled_in_templates(scripted_server: ScriptedServer) -> None:
    wire = WIRES[0]
    scripted_server.script([wire.text(GOOD)])
    example = {
        "input": "Tom, 40, sad, tag x",
        "output": {"name": "Tom", "age": 40, "mood": "sad", "tags": ["x"]},
    }
    wire.client(scripted_server).with_(messages="Jason", examples=[example]).with_template(
        TEMPLATE, {"Tags": TAGS}
    ).get()
    messages = scripted_server.requests[0].json["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == 'Name: Tom\nAge: 40\nMood: sad\nTags: ["x"]'


def test_an_example_missing_a_variable_is_a_configuration_error() -> None:
    from instructor_py.common.errors import ConfigurationError

    client = (
        StructuredOutput()
        .using("openai", api_key="sk-test", base_url="http://127.0.0.1:9")
        .with_(messages="x", examples=[{"input": "a", "output": {"name": "Tom"}}])
        .with_template(TEMPLATE, {"Tags": TAGS})
    )
    with pytest.raises(ConfigurationError, match="example 0: no value for template variable 'age'"):
        client.plan()


async def test_async_template_call_and_stream(scripted_server: ScriptedServer) -> None:
    wire = WIRES[0]
    scripted_server.script([wire.text(GOOD), Reply.sse(w.openai_stream(GOOD, piece=4))])
    client = (
        wire.client(scripted_server).with_(messages="Jason").with_template(TEMPLATE, {"Tags": TAGS})
    )
    value = await client.aget()
    assert value["tags"] == ["a", "b"]
    stream = client.astream()
    partials = [p async for p in stream.partials()]
    assert partials[-1] == value and len(partials) >= 4
    assert list(partials[0]) == ["name"]  # the variables appear in template order
