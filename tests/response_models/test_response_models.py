"""Every response-model kind, through the public API (scripted provider)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from instructor_py import (
    Maybe,
    MaybeResult,
    OutputMode,
    Sequence,
    StructuredOutput,
    StructuredOutputRetryError,
    UnsupportedResponseModelError,
    to_response_model,
)
from instructor_py.common.errors import InvalidSchemaError
from tests.support.scripted_provider import ScriptedProvider, text, tool


class User(BaseModel):
    """A person."""

    name: str
    age: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


def run(response_model: object, *answers: str, mode: OutputMode = OutputMode.TOOLS) -> object:
    make = tool if mode is OutputMode.TOOLS else text
    p = ScriptedProvider([make(a) for a in answers])
    so = StructuredOutput().with_provider(p).with_(
        messages="extract", response_model=response_model, mode=mode
    )
    return so.get()


def test_pydantic_model() -> None:
    rm = to_response_model(User)
    assert rm.name == "User" and rm.description == "A person."
    assert rm.json_schema["required"] == ["name", "age"]
    assert run(User, '{"name":"A","age":1}') == User(name="A", age=1)


def test_json_schema_dict_value_is_validated_dict() -> None:
    schema = {
        "title": "City",
        "type": "object",
        "properties": {"name": {"type": "string"}, "pop": {"type": "integer", "minimum": 0}},
        "required": ["name", "pop"],
    }
    value = run(schema, '{"name":"Oslo","pop":-1}', '{"name":"Oslo","pop":700000}')
    assert value == {"name": "Oslo", "pop": 700000}
    assert to_response_model(schema).name == "City"


def test_json_schema_dict_errors_are_fed_back_with_paths() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    p = ScriptedProvider([tool('{"n":"x"}'), tool("{}")])
    with pytest.raises(StructuredOutputRetryError) as info:
        StructuredOutput().with_provider(p).with_(
            messages="m", response_model=schema, max_retries=1
        ).get()
    assert info.value.attempts[0].errors == ("$.n: 'x' is not of type 'integer'",)
    assert info.value.attempts[1].errors == ("$: 'n' is a required property",)


def test_invalid_json_schema_fails_at_build_time() -> None:
    with pytest.raises(InvalidSchemaError, match="not valid"):
        StructuredOutput().with_(response_model={"type": "object", "properties": 3})
    with pytest.raises(InvalidSchemaError, match="not valid"):
        StructuredOutput().with_(response_model={"type": "strin"})


@pytest.mark.parametrize(
    ("tp", "answer", "expected"),
    [
        (int, '{"value": 42}', 42),
        (float, '{"value": 2.5}', 2.5),
        (str, '{"value": "hi"}', "hi"),
        (bool, '{"value": true}', True),
        (Literal["yes", "no"], '{"value": "no"}', "no"),
        (Color, '{"value": "blue"}', Color.BLUE),
        (int, "42", 42),  # a bare scalar is accepted for a wrapped scalar
    ],
)
def test_scalars_are_wrapped_for_the_model_and_unwrapped(
    tp: object, answer: str, expected: object
) -> None:
    rm = to_response_model(tp)
    assert rm.wrapper_field == "value"
    assert rm.json_schema["type"] == "object"
    assert rm.json_schema["required"] == ["value"]
    assert run(tp, answer) == expected


def test_literal_rejects_other_values_then_retries() -> None:
    assert run(Literal["a", "b"], '{"value": "c"}', '{"value": "b"}') == "b"


def test_maybe_value_or_message() -> None:
    found = run(Maybe(User), '{"result": {"name": "A", "age": 3}, "error": false}')
    assert found == MaybeResult(User(name="A", age=3))
    assert isinstance(found, MaybeResult) and found.found
    missing = run(Maybe(User), '{"result": null, "error": true, "message": "no user here"}')
    assert isinstance(missing, MaybeResult)
    assert not missing.found and missing.message == "no user here" and missing.value is None


def test_maybe_without_result_or_error_is_a_validation_failure() -> None:
    p = ScriptedProvider([tool('{"error": false}')])
    with pytest.raises(StructuredOutputRetryError) as info:
        StructuredOutput().with_provider(p).with_(
            messages="m", response_model=Maybe(User), max_retries=0
        ).get()
    assert 'set "result"' in info.value.attempts[0].errors[0]


@pytest.mark.parametrize("rm", [Sequence.of(User), list[User]])
def test_sequences_wrap_items(rm: object) -> None:
    built = to_response_model(rm)
    assert built.list_field == "items"
    assert built.json_schema["properties"]["items"]["type"] == "array"
    value = run(rm, '{"items": [{"name":"A","age":1},{"name":"B","age":2}]}')
    assert value == [User(name="A", age=1), User(name="B", age=2)]


def test_sequence_accepts_a_bare_list_and_reports_item_paths() -> None:
    assert run(list[int], "[1, 2]") == [1, 2]
    p = ScriptedProvider([tool('{"items": [{"name":"A","age":1},{"name":"B"}]}')])
    with pytest.raises(StructuredOutputRetryError) as info:
        StructuredOutput().with_provider(p).with_(
            messages="m", response_model=Sequence.of(User), max_retries=0
        ).get()
    assert info.value.attempts[0].errors == ("$.items[1]: 'age' is a required property",)


def test_dataclass_and_typeddict() -> None:
    assert run(Point, '{"x": 1, "y": 2}') == Point(1, 2)
    assert run(Movie, '{"title": "Heat", "year": 1995}') == {"title": "Heat", "year": 1995}
    assert to_response_model(Point).name == "Point"


@pytest.mark.parametrize(
    "bad",
    [object, dict, list, 3, "User", list[object], Sequence.of(dict), Maybe(3), int | str],
)
def test_unsupported_fails_at_build_time_and_says_what_is_supported(bad: object) -> None:
    with pytest.raises(UnsupportedResponseModelError) as info:
        StructuredOutput().with_(response_model=bad)
    msg = str(info.value)
    assert "BaseModel" in msg


def test_unsupported_message_lists_every_kind() -> None:
    with pytest.raises(UnsupportedResponseModelError) as info:
        StructuredOutput().with_response_model(object)
    for kind in ("JSON-schema dict", "Literal", "Enum", "Maybe", "Sequence.of", "TypedDict"):
        assert kind in str(info.value)


def test_md_json_mode_with_scalar() -> None:
    assert run(int, "The answer:\n```json\n{\"value\": 7}\n```", mode=OutputMode.MD_JSON) == 7
