"""The pure JSON extraction chain."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instructor_py.pipeline.extraction import (
    balanced_end,
    extract_json,
    parse_balanced,
    parse_fenced,
    scan_balanced,
)


def test_direct_json() -> None:
    found = extract_json('  {"a": 1}\n')
    assert found is not None and (found.value, found.method) == ({"a": 1}, "direct")


def test_double_encoded_json_string_is_decoded_once() -> None:
    found = extract_json('"{\\"a\\": [1]}"')
    assert found is not None and found.value == {"a": [1]}
    plain = extract_json('"{not json}"')
    assert plain is not None and plain.value == "{not json}"


def test_backticks_inside_a_fenced_string_do_not_end_the_block() -> None:
    found = extract_json('```json\n{"code": "```py\\nx```", "n": [1]}\n```')
    assert found is not None and found.value == {"code": "```py\nx```", "n": [1]}


def test_fenced_json_block_with_prose_around() -> None:
    text = 'Here you go:\n```json\n{"name": "A", "age": 3}\n```\nHope it helps {not json}'
    found = extract_json(text)
    assert found is not None and found.method == "fenced"
    assert found.value == {"name": "A", "age": 3}


def test_json_fence_preferred_over_other_fences() -> None:
    text = '```python\nx = {"a": 0}\n```\n```json\n{"a": 1}\n```'
    found = parse_fenced(text)
    assert found is not None and found.value == {"a": 1}


def test_unlabelled_fence() -> None:
    found = extract_json('```\n[1, 2]\n```')
    assert found is not None and found.value == [1, 2]


def test_brace_inside_string_does_not_close_the_object() -> None:
    text = 'Answer: {"name": "a } b", "note": "say \\"}\\" ok", "n": [1, {"x": "]"}]} trailing }'
    found = extract_json(text)
    assert found is not None and found.method == "balanced"
    assert found.value == {"name": "a } b", "note": 'say "}" ok', "n": [1, {"x": "]"}]}


def test_balanced_skips_candidates_that_do_not_parse() -> None:
    found = parse_balanced('{not json} then {"ok": true}')
    assert found is not None and found.value == {"ok": True}


def test_balanced_end_and_scan() -> None:
    assert balanced_end('{"a": "}"}', 0) == 10
    assert balanced_end('{"a": 1', 0) is None
    assert list(scan_balanced('x {"a": {"b": 1}} y [2]')) == ['{"a": {"b": 1}}', '{"b": 1}', "[2]"]


def test_raw_newline_inside_string_is_tolerated() -> None:
    found = extract_json('{"text": "line1\nline2"}')
    assert found is not None and found.value == {"text": "line1\nline2"}


@pytest.mark.parametrize("text", ["", "   ", "no json at all", "{unclosed", '{"a": 1'])
def test_non_json_gives_none(text: str) -> None:
    assert extract_json(text) is None


def test_reasoning_block_is_ignored() -> None:
    found = extract_json('<think>maybe {"name": "wrong"} or not</think>\n{"name": "right"}')
    assert found is not None and found.value == {"name": "right"}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='{}[]"\\ ab\n:,`'),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet='{}[]"\\ ab:', max_size=5), children, max_size=4),
    max_leaves=12,
)
_prose = st.text(alphabet="abc .:!\n-\"}]'", max_size=20)  # no opening bracket: no 2nd answer


@settings(max_examples=150, deadline=None)
@given(
    value=st.dictionaries(st.text(alphabet='{}[]"ab', max_size=4), _json_values, max_size=4),
    before=_prose,
    after=_prose,
    fenced=st.booleans(),
)
def test_any_object_embedded_in_prose_is_recovered(
    value: dict[str, object], before: str, after: str, fenced: bool
) -> None:
    body = json.dumps(value, indent=None if fenced else 1)
    text = f"{before}```json\n{body}\n```{after}" if fenced else f"{before}{body}{after}"
    found = extract_json(text)
    assert found is not None and found.value == value
