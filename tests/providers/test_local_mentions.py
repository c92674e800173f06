"""Optional keys the input mentions: which keys a request names (no model), where the answer
changes to write one (no model), and through the public API on the embedded model: a flag the
request asks for written on, a negated one off, a named key with the value the request gives,
and the opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.providers.local import LocalGeneration
from instructor_py.providers.local_mentions import (
    Mention,
    mention_edit,
    mentioned_keys,
    name_words,
)
from tests.support.local_calls import ask_local
from tests.support.smollm2 import needs_model

FLAGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "hours": {"type": "integer"},
        "include_precipitation": {"type": "boolean"},
        "avoid_tolls": {"type": "boolean"},
        "fullName": {"type": "boolean"},
        "unit": {"type": "string"},
        "with_stats": {"type": "boolean"},
    },
    "required": ["city", "hours"],
}


def keys(text: str) -> list[Mention]:
    return mentioned_keys(FLAGS, text)


def test_a_keys_name_in_words() -> None:
    assert name_words("include_owner") == ["include", "owner"]
    assert name_words("fullName") == ["full", "name"]
    assert name_words("HTTPStatus2") == ["http", "status", "2"]
    assert name_words("allow-transfer") == ["allow", "transfer"]


def test_a_flag_the_request_names_is_on_unless_negated() -> None:
    assert keys("Weather in Oslo, including the precipitation.") == [
        Mention("include_precipitation", True)
    ]
    assert keys("Weather in Oslo, but not precipitation.") == [
        Mention("include_precipitation", False)
    ]
    assert keys("Weather in Oslo without precipitation data.") == [
        Mention("include_precipitation", False)
    ]
    # the subject in another form: statistics for stats; the flag word alone is not a mention
    assert keys("Last game of Oslo FC. Include its statistics.") == [Mention("with_stats", True)]
    assert keys("Include everything about Oslo.") == []
    # every meaningful word of the name is needed
    assert keys("The name of the mayor of Oslo.") == []
    assert keys("The full name of the mayor of Oslo.") == [Mention("fullName", True)]


def test_a_flag_whose_name_negates_needs_the_request_to_say_so() -> None:
    assert keys("Drive from Oslo to Bergen with toll roads avoided.") == [
        Mention("avoid_tolls", True)
    ]
    assert keys("Drive from Oslo to Bergen, no tolls please.") == [Mention("avoid_tolls", True)]
    # tolls named without avoiding them: the model decides
    assert keys("Drive from Oslo to Bergen on the toll roads.") == []


def test_required_keys_and_other_values_are_read_apart() -> None:
    # required keys are always written; a key with a value to decode is a mention without one
    assert keys("Oslo weather for 24 hours in metric units.") == [Mention("unit", None)]
    assert mentioned_keys({"type": "array"}, "units") == []
    assert mentioned_keys(FLAGS, "") == []


ROUTE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "start": {"type": "string"},
        "route": {"$ref": "#/$defs/Route"},
        "show": {"type": "array", "items": {"enum": ["Tolls", "Fuel Stops", "Rest Areas"]}},
        "answer": {"enum": ["yes", "no"]},
    },
    "required": ["start", "route"],
    "$defs": {"Route": {"enum": ["Scenic", "Shortest", "Fastest"], "type": "string"}},
}


def test_the_options_a_request_names() -> None:
    named = mentioned_keys(ROUTE, "The shortest route from Oslo, with rest areas and tolls.")
    # a required choice is stated too; the list keeps the request's order
    assert named == [Mention("route", "Shortest"), Mention("show", ["Rest Areas", "Tolls"])]
    # two options named, or one negated: no statement; generic options are never named
    assert mentioned_keys(ROUTE, "Scenic or shortest, from Oslo, yes.") == []
    assert mentioned_keys(ROUTE, "From Oslo, not the scenic route, no tolls.") == []
    # an option of several words needs them all
    assert mentioned_keys(ROUTE, "From Oslo with fuel.") == []
    assert mentioned_keys(ROUTE, "From Oslo, fuel stops please.") == [
        Mention("show", ["Fuel Stops"])
    ]


def test_where_the_answer_changes_for_a_mention() -> None:
    text = '{"city": "Oslo", "hours": 24, "include_precipitation": false}'
    edit = mention_edit(FLAGS, text, Mention("include_precipitation", True))
    assert edit is not None and edit.prefix == '{"city": "Oslo", "hours": 24, "include_precipitation": true'
    assert mention_edit(FLAGS, text, Mention("include_precipitation", False)) is None
    # an absent key goes after the last key before it in the schema, in the answer's own style
    compact = '{"city":"Oslo","hours":24}'
    edit = mention_edit(FLAGS, compact, Mention("avoid_tolls", True))
    assert edit is not None and edit.prefix == '{"city":"Oslo","hours":24,"avoid_tolls":true'
    edit = mention_edit(ROUTE, '{"start":"Oslo","route":"Scenic"}', Mention("show", ["Tolls", "Rest Areas"]))
    assert edit is not None and edit.prefix == '{"start":"Oslo","route":"Scenic","show":["Tolls","Rest Areas"]'
    edit = mention_edit(FLAGS, compact, Mention("unit", None))
    assert edit is not None and edit.prefix == '{"city":"Oslo","hours":24,"unit":'
    # before the first key: a stated flag is written there, a value to decode is not
    first = {"with_stats": {"type": "boolean"}, "unit": {"type": "string"}}
    later = {**FLAGS, "properties": {**first, **FLAGS["properties"]}}
    edit = mention_edit(later, '{"city": "Oslo"}', Mention("with_stats", True))
    assert edit is not None and edit.prefix == '{"with_stats": true'
    assert mention_edit(later, '{"city": "Oslo"}', Mention("unit", None)) is None
    assert mention_edit(FLAGS, "not json", Mention("unit", None)) is None
    assert mention_edit(FLAGS, text, Mention("dropped", True)) is None  # not in the schema
    # a stated option replaces the one written; the same one changes nothing
    answer = '{"start": "Oslo", "route": "Scenic"}'
    edit = mention_edit(ROUTE, answer, Mention("route", "Shortest"))
    assert edit is not None and edit.prefix == '{"start": "Oslo", "route": "Shortest"'
    assert mention_edit(ROUTE, answer, Mention("route", "Scenic")) is None
    edit = mention_edit(ROUTE, answer, Mention("show", ["Tolls"]))
    assert edit is not None and edit.prefix == answer[:-1] + ', "show": ["Tolls"]'


WEATHER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city name."},
        "duration": {"type": "integer", "description": "Duration in hours for the forecast."},
        "include_precipitation": {
            "type": "boolean",
            "description": "Whether to include precipitation data. Default is false.",
        },
    },
    "required": ["location", "duration"],
}
TEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sample1": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "First set of observations.",
        },
        "sample2": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Second set of observations.",
        },
        "significance_level": {
            "type": "number",
            "description": "Significance level of the test (default: 0.05)",
        },
    },
    "required": ["sample1", "sample2"],
}


def ask(
    text: str, schema: dict[str, Any], system: str = "lookup", **options: Any
) -> tuple[Any, LocalGeneration]:
    return ask_local(text, schema, f"Function: {system}\nDo what the user asks.", **options)


@needs_model
@pytest.mark.timeout(300)
def test_a_flag_the_request_asks_for_is_written_on() -> None:
    text = "What will the weather be in Denver in the next 48 hours including the precipitation?"
    value, raw = ask(text, WEATHER)
    assert value["include_precipitation"] is True
    assert raw.mentioned_keys == ("include_precipitation",)
    negated, raw = ask("Weather in Denver for the next 48 hours, no precipitation.", WEATHER)
    assert negated["include_precipitation"] is False
    plain, plain_raw = ask(text, WEATHER, mention_keys=False)
    assert plain_raw.mentioned_keys == ()
    assert plain.get("include_precipitation") is not True  # what the mention changes


@needs_model
@pytest.mark.timeout(300)
def test_a_named_key_is_written_with_the_value_the_request_gives() -> None:
    text = "Compare the samples [3, 5, 7, 9] and [4, 6, 9, 12] with a t-test at significance level 0.1."
    plain, plain_raw = ask(text, TEST, "run_test", mention_keys=False)
    assert "significance_level" not in plain and plain_raw.mentioned_keys == ()  # left out
    value, raw = ask(text, TEST, "run_test")
    assert value == {"sample1": [3, 5, 7, 9], "sample2": [4, 6, 9, 12], "significance_level": 0.1}
    assert raw.mentioned_keys == ("significance_level",)


PARK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "park_name": {"type": "string", "description": "The name of the park."},
        "information": {
            "type": "array",
            "items": {"type": "string", "enum": ["Elevation", "Area", "Location", "Founded"]},
            "description": "The information wanted about the park.",
        },
        "route": {"type": "string", "enum": ["Scenic", "Shortest"], "description": "Route."},
    },
    "required": ["park_name", "information"],
}


@needs_model
@pytest.mark.timeout(300)
def test_the_options_a_request_names_are_the_answer() -> None:
    value, raw = ask("What are the area and the elevation of Glacier National Park?", PARK)
    assert value["information"] == ["Area", "Elevation"]
    assert raw.mentioned_keys == ("information",)
    value, raw = ask("Take me to Glacier National Park by the shortest route; its area?", PARK)
    assert value["information"] == ["Area"] and value["route"] == "Shortest"
    assert raw.mentioned_keys == ("information", "route")
