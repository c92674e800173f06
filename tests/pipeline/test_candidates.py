"""Finding the answer in the text: fences, prose, several candidates, scalars from text
(instructor_py/pipeline/tolerant/candidates.py)."""

from __future__ import annotations

from tests.pipeline.helpers import INT, STR, kinds, obj, read, refused

PERSON = obj(name=STR, age=INT)


def test_fenced_block_with_prose_around_it() -> None:
    text = 'Sure! Here it is:\n```json\n{"name": "Ann", "age": 3}\n```\nAnything else?'
    result = read(text, PERSON)
    assert result.value == {"name": "Ann", "age": 3}
    assert result.source == "fenced"


def test_unlabelled_and_unclosed_fence() -> None:
    result = read("```\n{name: 'Ann', age: 3}", PERSON)
    assert result.value == {"name": "Ann", "age": 3}


def test_json_embedded_in_prose() -> None:
    text = 'The person is {"name": "Ann", "age": 3} as requested.'
    assert read(text, PERSON).value == {"name": "Ann", "age": 3}


def test_the_candidate_that_fits_the_schema_wins() -> None:
    text = 'The schema was {"type": "object"}; the answer: {"name": "Ann", "age": 3}'
    result = read(text, PERSON)
    assert result.value == {"name": "Ann", "age": 3}
    assert result.source == "embedded"


def test_the_same_value_twice_is_not_ambiguous() -> None:
    text = '```json\n{"name": "Ann", "age": 3}\n```\nSo: {"name": "Ann", "age": 3}'
    assert read(text, PERSON).value == {"name": "Ann", "age": 3}


def test_two_different_values_that_fit_equally_are_ambiguous() -> None:
    text = 'Either {"name": "Ann", "age": 3} or {"name": "Bob", "age": 4}.'
    failure = refused(text, PERSON)
    assert failure.kind == "ambiguous"
    assert "several different values" in failure.message


def test_the_candidate_needing_fewer_repairs_wins() -> None:
    text = "Draft: {name: 'Bob', age: '4',} Final: {\"name\": \"Ann\", \"age\": 3}"
    assert read(text, PERSON).value == {"name": "Ann", "age": 3}


def test_reasoning_blocks_are_ignored() -> None:
    text = '<think>maybe {"name": "Bob", "age": 4}</think>{"name": "Ann", "age": 3}'
    assert read(text, PERSON).value == {"name": "Ann", "age": 3}


def test_scalars_at_top_level() -> None:
    assert read("42", INT).value == 42
    assert read("  12,111 ", INT).value == 12111
    assert read('"Paris"', STR).value == "Paris"
    assert read("Paris", STR).value == "Paris"
    assert read("[1, 2,]", {"type": "array", "items": INT}).value == [1, 2]


def test_enum_named_in_a_multi_line_answer() -> None:
    schema = {"enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]}
    result = read("Positive.\n\nThe reviewer loved the film.", schema)
    assert result.value == "POSITIVE"
    assert "enum_in_text" in kinds(result)
    assert result.source == "text"


def test_prose_is_not_a_number() -> None:
    refused("The answer is probably 42 or so.", INT)


def test_object_schema_and_prose_only() -> None:
    failure = refused("I cannot help with that request.", PERSON)
    assert failure.kind in ("mismatch", "unreadable")


def test_nothing_found() -> None:
    assert refused("   ", PERSON).kind == "unreadable"


def test_a_mismatch_carries_the_best_effort_value() -> None:
    failure = refused("{name: 'Ann'}", PERSON)
    assert failure.kind == "mismatch"
    assert failure.has_best_effort
    assert failure.best_effort == {"name": "Ann"}
    assert "age" in failure.message


def test_a_yes_no_sentence_for_a_boolean_answer() -> None:
    assert read("Yes, the sky is blue on a clear day.", {"type": "boolean"}).value is True
    refused("Yes and no, it depends.", {"type": "boolean"})
    refused("Yes, it is not blue.", {"type": "boolean"})


def test_an_ellipsis_is_not_a_value() -> None:
    refused('{"tags": ["a", "b", ...]}', obj(tags={"type": "array", "items": STR}))


def test_escaped_json_without_outer_quotes() -> None:
    result = read('{\\"name\\": \\"Ann\\", \\"age\\": 3}', PERSON)
    assert result.value == {"name": "Ann", "age": 3}
    assert "unescaped_json" in kinds(result)


def test_a_value_followed_by_an_unfinished_one_is_refused() -> None:
    text = 'Here: {"name": "Ann", "age": 3}\nMore complete: {"name": "Ann Lee", "age'
    assert refused(text, PERSON).kind == "unreadable"
    text = 'Here: {"name": "Ann", "age": 3}\nMore complete: {"name": "Ann Lee", "bio": "She'
    assert refused(text, PERSON).kind == "unreadable"


def test_a_key_given_two_different_values_is_refused() -> None:
    refused('{"name": "Ann", "age": 3, "age": 4}', PERSON)
    refused("{name: 'Ann', age: 3, age: 4}", PERSON)
    assert read('{"name": "Ann", "age": 3, "age": 3}', PERSON).value == {"name": "Ann", "age": 3}


# -- a JSON structure is not read as text (a string schema) -----------------------------------

STRING_OR_INTS = {"oneOf": [STR, {"type": "array", "items": INT}]}


def test_an_object_for_a_string_schema_is_refused_not_read_as_its_text() -> None:
    failure = refused('{"x": 1}', STR)
    assert failure.kind == "mismatch"
    assert "JSON object" in failure.message and "not read as text" in failure.message
    assert failure.best_effort == {"x": 1}


def test_a_fenced_or_introduced_structure_is_the_answer_too() -> None:
    assert "JSON object" in refused('```json\n{"x": 1}\n```', STR).message
    assert "JSON object" in refused('Here it is: {"x": 1}', STR).message
    assert "JSON array" in refused("[1, 2]", STR).message


def test_a_union_of_string_and_array_refuses_an_object() -> None:
    failure = refused('{"x": 1}', STRING_OR_INTS)
    assert "JSON object" in failure.message
    assert read("[1, 2]", STRING_OR_INTS).value == [1, 2]
    assert read("just words", STRING_OR_INTS).value == "just words"


def test_prose_for_a_string_schema_still_reads_as_the_string() -> None:
    assert read("Paris", STR).value == "Paris"
    # braces that hold no value, and a short structure inside a longer sentence: prose
    assert read("Use the {name} placeholder here.", STR).value == "Use the {name} placeholder here."
    sentence = "The values [1, 2, 3] are the ones the report lists for this quarter."
    assert read(sentence, STR).value == sentence


def test_a_one_item_list_of_a_string_is_still_its_item() -> None:
    assert read('["Paris"]', STR).value == "Paris"
