"""Trailing optional keys kept only on the input's evidence: where they are in an answer (no
model), and through the public API on the embedded model: keys the text never gave dropped,
a key it gave kept, and the opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.providers.local import LocalGeneration
from instructor_py.providers.local_optional import grounded, trailing_optional, without_keys
from tests.support.local_calls import ask_local
from tests.support.smollm2 import needs_model

SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}},
    "required": ["a"],
}


def test_the_trailing_optional_keys_and_where_they_start() -> None:
    text = '{"a": 1, "b": "x, \\"y\\"", "c": true}'
    found = trailing_optional(SCHEMA, text)
    assert [(k, text[:before], text[before:end]) for k, before, end in found] == [
        ("b", '{"a": 1', ', "b"'),
        ("c", '{"a": 1, "b": "x, \\"y\\""', ', "c"'),
    ]
    # a required key after them ends the trailing run; not an object: nothing
    later = {**SCHEMA, "required": ["a", "c"]}
    assert trailing_optional(later, text) == []
    assert trailing_optional(SCHEMA, "[1, 2]") == []
    assert without_keys(SCHEMA, ["b", "c"])["properties"] == {"a": {"type": "integer"}}


PROFILE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "user_id": {"type": "integer", "description": "The user's id."},
        "include_history": {
            "type": "boolean",
            "description": "Whether to include the order history. Default false.",
        },
        "format": {"type": "string", "description": "Output format, default json."},
    },
    "required": ["user_id"],
}
POPULATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "country": {"type": "string", "description": "The country."},
        "year": {"type": "integer", "description": "The year, default the latest."},
        "source": {"type": "string", "description": "Data source, default the UN."},
    },
    "required": ["country"],
}


def ask(text: str, schema: dict[str, Any], **options: Any) -> tuple[Any, LocalGeneration]:
    return ask_local(text, schema, **options)


@needs_model
@pytest.mark.timeout(300)
def test_optional_keys_the_text_never_gave_are_dropped() -> None:
    text = "Show me the profile of the user with id 4521."
    value, raw = ask(text, PROFILE)
    assert value == {"user_id": 4521}
    assert raw.dropped_keys == ("include_history", "format")
    plain, plain_raw = ask(text, PROFILE, score_optional=False)  # the model writes them all
    assert set(plain) == {"user_id", "include_history", "format"} and not plain_raw.dropped_keys


@needs_model
@pytest.mark.timeout(300)
def test_an_optional_key_the_text_gives_is_kept() -> None:
    value, raw = ask("Find the population of Norway in 1990.", POPULATION)
    assert value == {"country": "Norway", "year": 1990}
    assert raw.dropped_keys == ("source",)


def test_a_value_copied_from_the_input_is_grounded() -> None:
    text = "Tom Lund, 67, lives in Oslo (population 709,000) since 1990."
    assert grounded(67, text) and grounded("Oslo", text) and grounded(1990.0, text)
    assert grounded(["oslo", "Tom Lund"], text)  # case-insensitive, every leaf
    assert not grounded(6, text)  # whole numbers only, not a digit of 67
    assert not grounded("Osl", text) and not grounded(["Oslo", "Bergen"], text)
    assert not grounded(True, text) and not grounded(None, text) and not grounded([], text)
    assert not grounded("", text) and not grounded("Oslo", "")
