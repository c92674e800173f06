"""One test per syntax repair of the tolerant reader (instructor_py/pipeline/tolerant/syntax.py)."""

from __future__ import annotations

import pytest

from tests.pipeline.helpers import BOOL, INT, STR, kinds, obj, read, refused

PERSON = obj(name=STR, age=INT)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{name: "Ann", age: 3}', "unquoted_key"),
        ("{'name': 'Ann', 'age': 3}", "single_quotes"),
        ('{"name": `Ann`, "age": 3}', "backtick_string"),
        ('{"name": "Ann", "age": 3,}', "trailing_comma"),
        ('{"name": "Ann",, "age": 3}', "extra_comma"),
        ('{"name": "Ann" "age": 3}', "missing_comma"),
        ('{"name": "Ann", // the name\n "age": 3}', "comment"),
        ('{"name": "Ann", /* note */ "age": 3}', "comment"),
        ('{"name": "Ann", # python comment\n "age": 3}', "comment"),
        ('{"name": "Ann", "age": 3]', "mismatched_bracket"),
        ('{"name": "Ann", "age": 3', "truncated_close"),
        ('{"name": Ann, "age": 3}', "unquoted_string"),
        ('{"name": "Ann", "age": +3}', "number_format"),
        ('{"name"= "Ann", "age"= 3}', "key_equals"),
    ],
)
def test_each_repair_reads_the_same_value(text: str, kind: str) -> None:
    result = read(text, PERSON)
    assert result.value == {"name": "Ann", "age": 3}
    assert kind in kinds(result)


def test_python_literals() -> None:
    result = read('{"ok": True, "note": None}', obj(ok=BOOL, note={"type": ["string", "null"]}))
    assert result.value == {"ok": True, "note": None}
    assert "python_literal" in kinds(result)


def test_js_undefined_drops_an_optional_field_and_is_null_where_null_is_allowed() -> None:
    schema = {
        "type": "object",
        "properties": {"a": INT, "b": {"type": ["integer", "null"]}, "c": INT},
        "required": ["a"],
    }
    result = read('{"a": 1, "b": NaN, "c": undefined}', schema)
    assert result.value == {"a": 1, "b": None}
    assert "js_literal" in kinds(result)


def test_js_undefined_for_a_required_integer_is_refused() -> None:
    refused('{"name": "Ann", "age": undefined}', PERSON)


def test_unescaped_quotes_inside_a_string_are_kept() -> None:
    result = read('{"name": "Ann "the ace" Lee", "age": 3}', PERSON)
    assert result.value["name"] == 'Ann "the ace" Lee'
    assert "unescaped_quote" in kinds(result)


def test_unescaped_quote_followed_by_a_comma_in_prose_is_kept() -> None:
    result = read('{"name": "He said "hi", then left", "age": 3}', PERSON)
    assert result.value == {"name": 'He said "hi", then left', "age": 3}


def test_quote_followed_by_comma_and_next_key_closes_the_string() -> None:
    result = read('{"name": "Ann", "age": 3}', PERSON)
    assert result.repairs == ()


def test_raw_newline_inside_a_single_quoted_string() -> None:
    result = read("{'name': 'Ann\nLee', 'age': 3}", PERSON)
    assert result.value["name"] == "Ann\nLee"
    assert "raw_newline" in kinds(result)


def test_escapes_are_decoded() -> None:
    result = read(r"{'name': 'It\'s \u00e9\ud83d\ude00\n', 'age': 3}", PERSON)
    assert result.value["name"] == "It's \u00e9\U0001f600\n"


def test_unquoted_key_with_spaces() -> None:
    result = read('{first name: "Ann"}', obj(**{"first name": STR}))
    assert result.value == {"first name": "Ann"}


def test_thousands_in_an_unquoted_number_when_no_key_follows() -> None:
    result = read('{"name": "Ann", "age": 12,111}', PERSON)
    assert result.value == {"name": "Ann", "age": 12111}
    assert "number_thousands" in kinds(result)


def test_comma_then_a_key_is_a_separator_not_thousands() -> None:
    schema = obj(a=INT, b=INT)
    result = read('{"a": 12,"b": 111}', schema)
    assert result.value == {"a": 12, "b": 111}


def test_numbers_in_an_array_are_never_grouped() -> None:
    result = read("[1,200,300]", {"type": "array", "items": INT})
    assert result.value == [1, 200, 300]


def test_truncated_nested_containers_are_closed() -> None:
    schema = obj(name=STR, tags={"type": "array", "items": STR})
    result = read('{"name": "Ann", "tags": ["a", "b"', schema)
    assert result.value == {"name": "Ann", "tags": ["a", "b"]}
    assert "truncated_close" in kinds(result)


def test_an_answer_ending_inside_a_string_is_refused() -> None:
    failure = refused('{"name": "Ann", "age": 3, "note": "and then', obj(name=STR, age=INT))
    assert "inside a string" in failure.message


def test_truncated_before_a_required_field_is_refused() -> None:
    failure = refused('{"name": "Ann", ', PERSON)
    assert "age" in failure.message


def test_a_key_without_a_value_is_not_read() -> None:
    refused('{"name": "Ann", "age"}', PERSON)


def test_stray_characters_make_a_candidate_unusable() -> None:
    refused('{"name": "Ann", "age": 3 ) }', PERSON)


def test_typographic_quotes() -> None:
    result = read("{\u201cname\u201d: \u201cAnn\u201d, \u2018age\u2019: 3}", PERSON)
    assert result.value == {"name": "Ann", "age": 3}
    assert "typographic_quotes" in kinds(result)


def test_a_python_comment_after_a_string_in_an_array() -> None:
    schema = obj(packages={"type": "array", "items": STR})
    text = '{"packages": [\n  "numpy",\n  "sqlite3"  # it\'s in the standard library\n]}'
    assert read(text, schema).value == {"packages": ["numpy", "sqlite3"]}
