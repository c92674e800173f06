"""Fuzzing the JSON extractor and the incremental parser (hypothesis).

- any chunking of any text (valid JSON or not) gives the same outcome as parsing it at once;
- arbitrary bytes/text raise nothing but our typed error (JsonStreamError, an InstructorError);
- 10,000 levels of nesting never overflow the stack; hostile answers cost linear time.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instructor_py.common.errors import InstructorError
from instructor_py.pipeline.extraction import extract_json
from instructor_py.streaming.json_parser import IncrementalJsonParser, JsonStreamError

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)

# text near JSON: JSON characters, escapes, surrogates, and the odd letter
json_ish = st.text(
    alphabet=st.sampled_from(list('{}[]",:\\/ntrfeu0123456789.-+E aé\U0001f600\ud800\n\t')), max_size=80
)


def _parse_at_once(text: str) -> tuple[str, Any]:
    parser = IncrementalJsonParser()
    try:
        used = parser.feed(text)
        return ("value", (parser.close(), used))
    except JsonStreamError as exc:
        return ("error", exc.position)


def _parse_chunked(text: str, cuts: list[int]) -> tuple[str, Any]:
    parser = IncrementalJsonParser()
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    used_total = 0
    try:
        for a, b in itertools.pairwise(points):
            used = parser.feed(text[a:b])
            used_total += used
            if used < b - a:
                break
            parser.snapshot()  # snapshots along the way must not raise either
        return ("value", (parser.close(), used_total))
    except JsonStreamError as exc:
        return ("error", exc.position)


@FUZZ
@given(text=st.one_of(json_ish, json_values.map(json.dumps), st.text(max_size=60)), cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_of_any_text_gives_the_same_outcome(text: str, cuts: list[int]) -> None:
    assert _parse_chunked(text, cuts) == _parse_at_once(text)


@FUZZ
@given(value=json_values, cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_of_a_document_gives_its_value(value: Any, cuts: list[int]) -> None:
    text = json.dumps(value, ensure_ascii=False)
    kind, (parsed, used) = _parse_chunked(text, cuts)
    assert kind == "value" and used == len(text)
    assert parsed == json.loads(text)


@FUZZ
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 1000), max_size=10))
def test_arbitrary_bytes_raise_only_our_typed_error(data: bytes, cuts: list[int]) -> None:
    text = data.decode("utf-8", errors="surrogateescape")
    parser = IncrementalJsonParser(events=True)
    try:
        points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
        for a, b in itertools.pairwise(points):
            parser.feed(text[a:b])
            parser.snapshot()
            parser.pop_events()
        parser.close()
    except JsonStreamError as exc:
        assert isinstance(exc, InstructorError) and exc.position >= 0


@FUZZ
@given(data=st.one_of(st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")), json_ish, st.text(max_size=200)))
def test_the_extractor_never_raises(data: str) -> None:
    found = extract_json(data)
    if found is not None:
        json.dumps(found.value)  # what it found is plain JSON data


@FUZZ
@given(value=json_values, before=st.text(max_size=30), after=st.text(max_size=30))
def test_the_extractor_finds_a_fenced_object_in_any_prose(value: Any, before: str, after: str) -> None:
    obj = {"v": value}
    text = f"{before.replace('`', '')}\n```json\n{json.dumps(obj)}\n```\n{after.replace('`', '')}"
    found = extract_json(text)
    assert found is not None and found.value == obj


DEPTH = 10_000


@pytest.mark.parametrize(
    "doc",
    ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH, '[{"k":' * (DEPTH // 2) + "null" + "}]" * (DEPTH // 2)],
    ids=["arrays", "objects", "mixed"],
)
def test_ten_thousand_levels_do_not_overflow_the_parser(doc: str) -> None:
    parser = IncrementalJsonParser()
    for i in range(0, len(doc), 4096):
        parser.feed(doc[i : i + 4096])
        parser.snapshot()
    value = parser.close()
    depth = 0
    while isinstance(value, list | dict) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    assert depth >= DEPTH - 1


@pytest.mark.parametrize(
    "text",
    [
        "[" * DEPTH + "]" * DEPTH,
        '{"name": ' + "[" * DEPTH + "]" * DEPTH + "}",
        "{" * 200_000,
        "[" * 100_000 + "x",
        "<think>" * 50_000 + "</x>",
        "</think>" + "<think>{" * 30_000,
        "```" * 50_000,
        "```json\n{" * 20_000,
        '"' * 100_000,
        "{\"a\": \"" + "\\" * 100_000,
    ],
    ids=["deep-array", "deep-in-object", "open-braces", "open-brackets", "think-openers",
         "think-braces", "fences", "json-fences", "quotes", "backslashes"],
)
def test_hostile_answers_are_no_json_or_a_value_never_a_crash(text: str) -> None:
    """Each finishes at once (linear-time scans; the pytest timeout catches a quadratic one)."""
    found = extract_json(text)
    assert found is None or isinstance(found.value, list | dict)


def test_a_ten_thousand_level_answer_streamed_through_the_public_api_is_a_failed_attempt() -> None:
    from pydantic import BaseModel

    from instructor_py import Sequence, StructuredOutput
    from tests.support.scripted_provider import ScriptedProvider, text

    class Item(BaseModel):
        name: str
        data: Any = None

    deep = "[" * DEPTH + "]" * DEPTH
    for model, answer, good in [
        (Item, f'{{"name": "a", "data": {deep}}}', '{"name": "ok"}'),
        (Sequence.of(Item), f'{{"items": [{{"name": "a", "data": {deep}}}]}}', '{"items": [{"name": "ok"}]}'),
    ]:
        provider = ScriptedProvider([text(answer), text(good)])
        stream = StructuredOutput().with_provider(provider).with_(messages="x", response_model=model, max_retries=1).stream()
        assert list(stream.partials())  # partial snapshots of the deep answer, then of the retry
        response = stream.final_response()
        assert "levels deep" in response.attempts[0].errors[0]
        assert len(response.attempts) == 2
