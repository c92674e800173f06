"""The one scan of JSON structure outside strings (instructor_py/common/json_scan.py), and the
three walks built on it: bracket matching, nesting depth, the JSON path open at a prefix."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from instructor_py.common.json_scan import closed, structure
from instructor_py.pipeline.extraction import balanced_end, bracket_depth
from instructor_py.runtime.repetition import json_path_at

TRICKY = st.text(alphabet='{}[]",:\\ab \n\u00e9', max_size=6)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=12,
)


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(VALUES, max_size=4), st.dictionaries(TRICKY, VALUES, max_size=4)), st.text(max_size=8))
def test_brackets_inside_strings_never_count(value: Any, prose: str) -> None:
    document = json.dumps(value, ensure_ascii=False)
    text = prose.replace('"', "'").replace("{", "(").replace("[", "(") + document + ' tail "} ]'
    start = text.index(document)
    assert balanced_end(text, start) == start + len(document)
    assert bracket_depth(document) == depth_of(value)
    assert balanced_end(document[:-1], 0) is None


def test_strings_open_at_the_end_and_lone_backslashes() -> None:
    tokens = [(m.group(), closed(m)) for m in structure('{"a\\"b": ["x\\\\", "c\\')]
    assert tokens == [("{", False), ('"a\\"b"', True), (":", False), ("[", False), ('"x\\\\"', True), (",", False), ('"c\\', False)]
    assert bracket_depth('{"[[[": [1]}') == 2


def test_the_json_path_open_at_a_prefix() -> None:
    assert json_path_at('{"items": [{"a": 1}, {"n\\u0061me": "x') == "$.items[1].name"
    assert json_path_at('{"k": "{[not structure"') == "$.k"
    assert json_path_at("[1, 2, [3") == "$[2][0]"
