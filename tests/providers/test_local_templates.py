"""Templates, thinking and fenced JSON on the embedded model, through the public API:
``with_template`` (gen / select / json), ``with_(thinking=N)`` / ``with_thinking(N)``, MD_JSON."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.common.errors import TemplateError
from instructor_py.common.modes import OutputMode
from instructor_py.guidance import GuidanceTemplate
from instructor_py.providers.local import LocalGeneration
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(300)]


class Address(BaseModel):
    city: str
    country: str


class Person(BaseModel):
    name: str
    age: int


TEXT = "Maria Lopez is 31 years old. She lives in Madrid, Spain, and she feels happy today."
TEMPLATE = """Name: {{gen 'name' regex='[A-Z][a-z]+( [A-Z][a-z]+)?'}}
Age: {{gen 'age' regex='[0-9]{1,3}'}}
Mood: {{select 'mood' options=['happy', 'sad', 'angry']}}
Address: {{json 'address' schema=Address}}
{{! the rest is free text, ended by a newline }}Summary: {{gen 'summary' stop='\\n' max_tokens=30}}"""


def _generation(response: object) -> LocalGeneration:
    raw = response.raw_response  # type: ignore[attr-defined]
    assert isinstance(raw, LocalGeneration)
    return raw


def test_template_answer_matches_the_template_and_captures_equal_the_spans() -> None:
    response = (
        StructuredOutput()
        .with_(messages=TEXT, max_retries=0, options={"max_tokens": 160})
        .with_template(TEMPLATE, {"Address": Address})
        .response()
    )
    text = response.raw_text
    value = response.value
    # the whole output is the template filled in
    match = re.fullmatch(
        r"Name: (?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)\nAge: (?P<age>[0-9]{1,3})\n"
        r"Mood: (?P<mood>happy|sad|angry)\nAddress: (?P<address>\{.*\})\n"
        r"Summary: (?P<summary>[^\n]*)\n?",
        text,
        re.DOTALL,
    )
    assert match is not None, text
    # the captures (from llguidance) are exactly the spans of the text
    segments = dict(_generation(response).segments)
    assert segments == {k: match.group(k) for k in ("name", "age", "mood", "address", "summary")}
    # the value is the dict of captured variables (json parsed)
    assert value == {
        "name": match.group("name"),
        "age": match.group("age"),
        "mood": match.group("mood"),
        "address": json.loads(match.group("address")),
        "summary": match.group("summary"),
    }
    Address.model_validate(value["address"])
    assert _generation(response).backend == "guidance"


def test_json_variables_are_closed_objects_like_response_schemas(model: object) -> None:
    from instructor_py.runtime.model import LocalModel

    assert isinstance(model, LocalModel)
    template = GuidanceTemplate("At {{json 'a' schema=Address}}", {"Address": Address})
    extra = 'At {"city":"Madrid","country":"Spain","zip":"1"}'
    ids = model.tokenizer_info.tokenize(extra)
    closed = model.compile(template.closed().to_constraint())
    opened = model.compile(template.to_constraint())
    assert opened.matcher.validate_tokens(ids) == len(ids)
    assert closed.matcher.validate_tokens(ids) < len(ids)
    assert template.closed().used["Address"]["additionalProperties"] is False


def test_template_with_a_response_model_validates_the_variables() -> None:
    person = (
        StructuredOutput()
        .with_(messages="Jason is 25 years old.", response_model=Person)
        .with_template(
            "Name: {{gen 'name' regex='[A-Z][a-z]+'}}\nAge: {{gen 'age' regex='[0-9]{1,3}'}}"
        )
        .get()
    )
    assert isinstance(person, Person) and isinstance(person.age, int)
    assert re.fullmatch("[A-Z][a-z]+", person.name)


def test_streaming_template_partials_grow_to_the_final_value() -> None:
    template = "Mood: {{select 'mood' options=['happy', 'sad']}}\nWhy: {{gen 'why' stop='.' max_tokens=20}}"
    stream = StructuredOutput().with_(messages=TEXT, max_retries=0).with_template(template).stream()
    partials = list(stream.partials())
    final = stream.final_value()
    assert final["mood"] in ("happy", "sad") and isinstance(final["why"], str)
    assert partials and partials[-1] == final
    # snapshots only grow: each one's keys are a prefix of the template's variables
    keys = [list(p) for p in partials]
    assert all(k == ["mood", "why"][: len(k)] for k in keys)
    whys = [p["why"] for p in partials if "why" in p]
    assert all(final["why"].startswith(w) for w in whys)
    assert len(partials) >= 2


def test_thinking_then_json() -> None:
    response = (
        StructuredOutput()
        .with_(messages="Jason is 25 years old.", response_model=Person, thinking=24)
        .response()
    )
    generation = _generation(response)
    labels = [label for label, _ in generation.segments]
    assert labels == ["thinking", "json"]
    thinking, answer = (text for _, text in generation.segments)
    # raw_text keeps everything; the value comes from the JSON segment
    assert response.raw_text == thinking + answer
    assert "{" not in thinking
    assert response.value == Person.model_validate(json.loads(answer))
    assert len(generation.token_ids) <= 24 + 40


def test_with_thinking_method_equals_the_keyword() -> None:
    a = StructuredOutput().with_(messages="Jason is 25.", response_model=Person).with_thinking(16)
    b = StructuredOutput().with_(messages="Jason is 25.", response_model=Person, thinking=16)
    assert a.thinking == b.thinking == 16
    assert a.plan().request.thinking == 16
    assert "think step by step" in a.plan().request.messages[0]["content"]
    assert a.with_thinking(0).plan().request.thinking is None


def test_md_json_produces_a_real_fenced_block() -> None:
    response = (
        StructuredOutput()
        .with_(messages="Jason is 25 years old.", response_model=Person, mode=OutputMode.MD_JSON)
        .response()
    )
    text = response.raw_text
    assert text.startswith("```json\n") and text.endswith("\n```"), text
    body = text[len("```json\n") : -len("\n```")]
    assert response.value == Person.model_validate_json(body)
    assert dict(_generation(response).segments) == {"json": body}


def test_md_json_with_thinking_thinks_before_the_fence() -> None:
    response = (
        StructuredOutput()
        .with_(messages="Jason is 25 years old.", response_model=Person, mode="md_json")
        .with_thinking(20)
        .response()
    )
    thinking = dict(_generation(response).segments)["thinking"]
    assert response.raw_text.startswith(thinking + "```json\n")
    assert isinstance(response.value, Person)


@pytest.mark.parametrize(
    ("template", "variables", "where", "what"),
    [
        ("Name: {{gen 'name'", None, "line 1, column 7", "unclosed tag"),
        ("A\n{{json 'x' schema=Nope}}", None, "line 2, column 19", "unknown variable 'Nope'"),
        ("{{gen 'x' regex='[0-'}}", None, "line 1, column 11", "cannot compile regex"),
        ("{{select 'x' options=[]}}", None, "line 1, column 14", "no options"),
        ("{{gen 'x' stop='.'}}{{gen 'x' stop='.'}}", None, "line 1, column 27", "duplicate"),
        ("Hi {{who}}", {"someone": 1}, "line 1, column 6", "unknown variable 'who'"),
    ],
)
def test_bad_templates_fail_when_the_call_is_built(
    template: str, variables: dict[str, object] | None, where: str, what: str
) -> None:
    with pytest.raises(TemplateError, match=re.escape(where)) as info:
        StructuredOutput().with_(messages="x").with_template(template, variables)
    assert what in str(info.value)


def test_template_instance_and_variables_are_exclusive() -> None:
    from instructor_py.common.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="already has its variables"):
        StructuredOutput().with_template(GuidanceTemplate("x {{gen 'a'}}"), {"b": 1})


PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_think_tags_then_json_generated_by_the_model(model: object) -> None:
    from instructor_py.local import ConstraintSpec, DecodeOptions, session_for
    from instructor_py.runtime.model import LocalModel

    assert isinstance(model, LocalModel)
    spec = ConstraintSpec.sequence(
        "<think>",
        ConstraintSpec.text(regex="[^<]*", max_tokens=16).labeled("thinking"),
        "</think>",
        ConstraintSpec.json_schema(PERSON_SCHEMA).labeled("json"),
    )
    handle = model.compile(spec)
    prompt = session_for(model).render(
        [{"role": "user", "content": "Think first, then answer in JSON. Jason is 25."}]
    )
    out = "".join(
        c.text for c in session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=80))
    )
    segments = dict(handle.segments())
    assert out == f"<think>{segments['thinking']}</think>{segments['json']}"
    assert isinstance(json.loads(segments["json"])["age"], int)


def test_any_of_two_schemas_generated_by_the_model(model: object) -> None:
    from instructor_py.local import ConstraintSpec, DecodeOptions, session_for
    from instructor_py.runtime.model import LocalModel

    assert isinstance(model, LocalModel)
    array = {"type": "array", "items": {"type": "integer"}, "maxItems": 3}
    spec = ConstraintSpec.any_of(
        ConstraintSpec.json_schema(PERSON_SCHEMA).labeled("person"),
        ConstraintSpec.json_schema(array).labeled("numbers"),
    )
    for question in (
        "Jason is 25. Give his name and age as JSON.",
        "List 1, 2 and 3 as a JSON array.",
    ):
        handle = model.compile(spec)
        prompt = session_for(model).render([{"role": "user", "content": question}])
        out = "".join(
            c.text
            for c in session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=60))
        )
        ((got, text),) = handle.segments()
        assert text == out and got in ("person", "numbers")
        value = json.loads(out)
        assert isinstance(value, dict if got == "person" else list)


def test_a_literal_ending_in_a_space_is_not_forced_as_a_lone_space_token(model: object) -> None:
    """Jump-forward leaves a literal's trailing space to the sampled word (``" Jason"``): a lone
    ``" "`` token splits the word from its space, a tokenization the model never saw."""
    from instructor_py.runtime.model import LocalModel

    assert isinstance(model, LocalModel)
    template = "Name: {{gen 'name' stop='\\n'}}\nCity: {{gen 'city' stop='\\n'}}"
    response = (
        StructuredOutput()
        .with_(messages="Jason lives in Paris.")
        .with_template(template)
        .response()
    )
    tokens = [model.tokenizer_info.token_bytes[t] for t in _generation(response).token_ids]
    assert b" " not in tokens, tokens
    assert response.raw_text.startswith("Name: ") and "\nCity: " in response.raw_text
    assert response.value["name"].strip() and response.value["city"].strip()
