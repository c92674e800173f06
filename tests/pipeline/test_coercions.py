"""One test per schema coercion, and the refusals that keep them honest
(instructor_py/pipeline/tolerant/coerce.py and scalars.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.helpers import BOOL, INT, NUM, STR, kinds, obj, read, refused


@pytest.mark.parametrize(
    ("raw", "schema", "value", "kind"),
    [
        ('"12,111"', INT, 12111, "number_thousands"),
        ('"1,234,567.5"', NUM, 1234567.5, "number_thousands"),
        ('"$1,200.50"', NUM, 1200.5, "number_currency"),
        ('"1200 EUR"', NUM, 1200, "number_currency"),
        ('"-$5"', NUM, -5, "number_currency"),
        ('"12 kg"', NUM, 12, "number_unit"),
        ('"3.5 hours"', NUM, 3.5, "number_unit"),
        ('"42"', INT, 42, "string_to_number"),
        ('"3.0"', INT, 3, "string_to_number"),
        ('"yes"', BOOL, True, "bool_word"),
        ('"False"', BOOL, False, "bool_word"),
        ('"Y"', BOOL, True, "bool_word"),
        ('"Yes, the account is active"', BOOL, True, "bool_in_text"),
        ('"\u22125"', INT, -5, "string_to_number"),
        ("42", STR, "42", "number_to_string"),
        ("4.50", STR, "4.50", "number_to_string"),
    ],
)
def test_scalar_coercions(raw: str, schema: dict[str, Any], value: Any, kind: str) -> None:
    result = read('{"v": ' + raw + "}", obj(v=schema))
    assert result.value == {"v": value}
    assert type(result.value["v"]) is type(value)
    assert kind in kinds(result)


@pytest.mark.parametrize(
    ("raw", "schema", "words"),
    [
        ('"1,5"', NUM, "comma"),
        ('"12,34"', INT, "comma"),
        ('"1.234,56"', NUM, "comma"),
        ('"3.7"', INT, "fraction"),
        ("3.7", INT, "fraction"),
        ('"1.2 million"', NUM, "scale"),
        ('"12k"', NUM, "scale"),
        ('"15%"', NUM, "percentage"),
    ],
)
def test_numbers_with_two_readings_are_refused(
    raw: str, schema: dict[str, Any], words: str
) -> None:
    failure = refused('{"v": ' + raw + "}", obj(v=schema))
    assert failure.kind == "ambiguous"
    assert words in failure.message
    assert failure.path == "$.v"


@pytest.mark.parametrize("raw", ['"about 12"', '"twelve"', '"12 or 13"', '"maybe"', "true"])
def test_no_number_in_the_text_is_a_mismatch(raw: str) -> None:
    assert refused('{"v": ' + raw + "}", obj(v=NUM)).kind == "mismatch"


@pytest.mark.parametrize("raw", ['"1"', '"on"', '"ok"', "1", '"yes and no"', '"No, yes"'])
def test_only_words_are_booleans(raw: str) -> None:
    refused('{"v": ' + raw + "}", obj(v=BOOL))


STATUS = {"enum": ["TODO", "IN_PROGRESS", "DONE"]}
SENTIMENT = {"enum": ["positive", "negative", "neutral"]}


@pytest.mark.parametrize(
    ("raw", "schema", "value", "kind"),
    [
        ('"in progress"', STATUS, "IN_PROGRESS", "enum_case"),
        ('"In-Progress"', STATUS, "IN_PROGRESS", "enum_case"),
        ('"done."', STATUS, "DONE", "enum_case"),
        ('"POSITIVE"', SENTIMENT, "positive", "enum_case"),
        ('"POSITIVE - the review is glowing"', SENTIMENT, "positive", "enum_in_text"),
        ('"The sentiment is negative because the food was cold."', SENTIMENT, "negative", "enum_in_text"),
        ('["DONE"]', STATUS, "DONE", "list_to_single"),
    ],
)
def test_enum_matching(raw: str, schema: dict[str, Any], value: Any, kind: str) -> None:
    result = read('{"v": ' + raw + "}", obj(v=schema))
    assert result.value == {"v": value}
    assert kind in kinds(result)


@pytest.mark.parametrize(
    "raw",
    [
        '"positive or negative"',
        '"not negative"',
        '"it is neither positive nor negative"',
        '"mixed"',
    ],
)
def test_enum_refusals(raw: str) -> None:
    refused('{"v": ' + raw + "}", obj(v=SENTIMENT))


def test_a_longer_member_hides_the_shorter_one_it_contains() -> None:
    schema = obj(v={"enum": ["good", "very good", "bad"]})
    assert read('{"v": "I would say very good overall"}', schema).value == {"v": "very good"}


def test_two_members_equal_after_normalisation_are_ambiguous() -> None:
    assert refused('{"v": "ab"}', obj(v={"enum": ["A_B", "a-b"]})).kind == "ambiguous"


def test_const() -> None:
    assert read('{"v": "Fixed"}', obj(v={"const": "FIXED"})).value == {"v": "FIXED"}


def test_key_case_and_separators() -> None:
    schema = obj(first_name=STR, lastName=STR)
    result = read('{"firstName": "Ann", "last-name": "Lee"}', schema)
    assert result.value == {"first_name": "Ann", "lastName": "Lee"}
    assert "key_renamed" in kinds(result)


def test_a_key_present_exactly_is_not_renamed_onto() -> None:
    schema = {"type": "object", "properties": {"first_name": STR}}
    result = read('{"first_name": "Ann", "firstName": "Bo"}', schema)
    assert result.value == {"first_name": "Ann", "firstName": "Bo"}


def test_key_matching_two_properties_is_ambiguous() -> None:
    schema = {"type": "object", "properties": {"first_name": STR, "firstName": STR}}
    assert refused('{"FIRSTNAME": "Ann"}', schema).kind == "ambiguous"


def test_single_value_where_a_list_is_expected() -> None:
    schema = obj(tags={"type": "array", "items": STR}, ids={"type": "array", "items": INT})
    result = read('{"tags": "python", "ids": "7"}', schema)
    assert result.value == {"tags": ["python"], "ids": [7]}
    assert "single_to_list" in kinds(result)


def test_a_string_that_may_hold_several_items_is_not_one_item() -> None:
    schema = obj(tags={"type": "array", "items": STR})
    assert refused('{"tags": "python, rust"}', schema).kind == "ambiguous"


def test_single_object_where_a_list_of_objects_is_expected() -> None:
    item = obj(name=STR)
    result = read('{"name": "Ann"}', {"type": "array", "items": item})
    assert result.value == [{"name": "Ann"}]


def test_json_inside_a_string() -> None:
    schema = obj(people={"type": "array", "items": STR})
    result = read('{"people": "[\\"John Doe\\", \\"Jane Smith\\"]"}', schema)
    assert result.value == {"people": ["John Doe", "Jane Smith"]}
    assert "json_in_string" in kinds(result)


def test_null_for_an_optional_non_nullable_field_is_dropped() -> None:
    schema = {"type": "object", "properties": {"a": INT, "b": INT}, "required": ["a"]}
    result = read('{"a": 1, "b": null}', schema)
    assert result.value == {"a": 1}
    assert "null_dropped" in kinds(result)


def test_null_for_a_required_field_is_refused() -> None:
    refused('{"a": null}', obj(a=INT))


def test_refs_defs_and_recursion() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "label": STR,
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["label"],
            }
        },
        "$ref": "#/$defs/Node",
    }
    text = "{label: 'root', children: [{label: 'a', children: [{label: 'b'}]}, {label: 7}]}"
    result = read(text, schema)
    assert result.value == {
        "label": "root",
        "children": [{"label": "a", "children": [{"label": "b"}]}, {"label": "7"}],
    }


def test_any_of_prefers_the_branch_needing_no_repair() -> None:
    schema = obj(v={"anyOf": [INT, STR]})
    assert read('{"v": "12"}', schema).value == {"v": "12"}
    assert read('{"v": 12}', schema).value == {"v": 12}


def test_any_of_with_two_equally_good_different_readings_is_ambiguous() -> None:
    schema = obj(v={"anyOf": [INT, BOOL]})
    assert read('{"v": "7"}', schema).value == {"v": 7}
    two = obj(v={"anyOf": [{"enum": ["YES_PLEASE"]}, {"enum": ["YES_THANKS"]}]})
    assert refused('{"v": "yes"}', two).kind in ("ambiguous", "mismatch")


def test_maps_through_additional_properties() -> None:
    schema = obj(scores={"type": "object", "additionalProperties": INT})
    result = read("{scores: {math: '91', physics: 85,}}", schema)
    assert result.value == {"scores": {"math": 91, "physics": 85}}


def test_additional_properties_false_refuses_unknown_keys() -> None:
    schema = {"type": "object", "properties": {"a": INT}, "additionalProperties": False}
    refused('{"a": 1, "zzz": 2}', schema)


def test_pydantic_alias_names_in_the_schema_are_the_keys() -> None:
    from pydantic import BaseModel, Field

    class User(BaseModel):
        user_name: str = Field(alias="userName")
        birth_year: int = Field(alias="birthYear")

    result = read("{'user-name': 'ann', BirthYear: '1,990'}", User.model_json_schema())
    assert result.value == {"userName": "ann", "birthYear": 1990}
    assert User.model_validate(result.value).birth_year == 1990


@pytest.mark.parametrize("word", ['"N/A"', '"unknown"', '""', '"none"'])
def test_a_no_value_word_in_an_optional_field(word: str) -> None:
    schema = {
        "type": "object",
        "properties": {"name": STR, "age": INT, "nick": {"type": ["integer", "null"]}},
        "required": ["name"],
    }
    result = read('{"name": "Ann", "age": ' + word + ', "nick": ' + word + "}", schema)
    assert result.value == {"name": "Ann", "nick": None}
    assert "null_word" in kinds(result)


def test_a_no_value_word_in_a_required_field_is_refused() -> None:
    refused('{"age": "N/A"}', obj(age=INT))
