"""The incremental JSON parser: any chunking gives json.loads' value; snapshots are consistent
prefixes of the final value; escapes, \\u sequences and surrogate pairs split anywhere."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instructor_py.streaming import (
    MISSING,
    IncrementalJsonParser,
    ItemCompleted,
    JsonStreamError,
    PartialList,
    ValueCompleted,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def _plain(value: Any) -> Any:
    if isinstance(value, PartialList):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _consistent(partial: Any, final: Any) -> bool:
    """``partial`` is what a prefix of ``final``'s text may show: strings are prefixes, containers
    hold consistent children, and every container item but the last one is complete."""
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    if isinstance(partial, list):
        if not isinstance(final, list) or len(partial) > len(final):
            return False
        if any(p != f for p, f in zip(partial[:-1], final, strict=False)):
            return False
        return not partial or _consistent(partial[-1], final[len(partial) - 1])
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and _consistent(v, final[k]) for k, v in partial.items()
        )
    return bool(partial == final) and type(partial) is type(final)


def _parse(text: str, cuts: list[int], **kwargs: Any) -> tuple[Any, list[Any]]:
    parser = IncrementalJsonParser(**kwargs)
    snaps = []
    last_version = -1
    for chunk in _chunks(text, cuts):
        assert parser.feed(chunk) == len(chunk)
        if parser.version != last_version:
            last_version = parser.version
            snap = parser.snapshot()
            if snap is not MISSING:
                snaps.append(_plain(snap))
    return parser.close(), snaps


@settings(max_examples=300, deadline=None)
@given(
    value=json_values, cuts=st.lists(st.integers(min_value=0), max_size=40), ascii_=st.booleans()
)
def test_any_chunking_gives_the_value_and_consistent_snapshots(
    value: Any, cuts: list[int], ascii_: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_)
    result, snaps = _parse(text, cuts)
    assert result == json.loads(text)
    for snap in snaps:
        assert _consistent(snap, result), (snap, result)
    # Consecutive snapshots differ (a snapshot is only taken when the version changed, and a
    # version change must be visible).
    for a, b in itertools.pairwise(snaps):
        assert a != b or type(a) is not type(b)


@settings(max_examples=100, deadline=None)
@given(value=json_values, cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_partial_strings_off_shows_only_closed_strings(value: Any, cuts: list[int]) -> None:
    text = json.dumps({"v": value})
    result, snaps = _parse(text, cuts, partial_strings=False)

    def strings(x: Any) -> list[str]:
        if isinstance(x, str):
            return [x]
        if isinstance(x, list):
            return [s for v in x for s in strings(v)]
        if isinstance(x, dict):
            return [s for v in x.values() for s in strings(v)]
        return []

    final_strings = strings(result)
    for snap in snaps:
        assert _consistent(snap, result)
        for s in strings(snap):
            assert s in final_strings  # only complete strings ever appear


TRICKY = {
    "esc": 'a"b\\c/d\bé\f\n\r\t',
    "uni": "é€😀\U0001f600x",
    "lone": "\ud83d",  # a lone high surrogate survives (as in json.loads)
    "brackets": "}]{[,:",
    "ctl": "\x00\x1f",
}


@pytest.mark.parametrize("ascii_", [True, False])
def test_every_split_point_of_escapes_and_surrogates(ascii_: bool) -> None:
    text = json.dumps(TRICKY, ensure_ascii=ascii_)
    assert "\\ud83d\\ude00" in text or not ascii_
    for cut in range(len(text) + 1):
        parser = IncrementalJsonParser()
        parser.feed(text[:cut])
        parser.feed(text[cut:])
        assert parser.close() == json.loads(text)
    # One character at a time, with snapshots after each.
    result, snaps = _parse(text, list(range(len(text))))
    assert result == TRICKY
    assert all(_consistent(s, result) for s in snaps)


def test_numbers_and_literals_appear_only_when_complete() -> None:
    parser = IncrementalJsonParser()
    seen = []
    for ch in '{"n": 12345, "t": true, "f": -1.5e3}':
        parser.feed(ch)
        snap = parser.snapshot()
        if snap is not MISSING:
            seen.append(dict(snap))
    assert {"n": 1} not in seen and {"n": 12} not in seen
    assert {"n": 12345} in seen
    assert seen[-1] == {"n": 12345, "t": True, "f": -1500.0}


def test_root_scalar_completes_on_close() -> None:
    parser = IncrementalJsonParser()
    parser.feed("12")
    parser.feed("3")
    assert not parser.done
    assert parser.close() == 123


def test_feed_stops_at_the_end_of_the_root_value() -> None:
    parser = IncrementalJsonParser()
    assert parser.feed('{"a": [1]}  trailing') == len('{"a": [1]}')
    assert parser.done and parser.value == {"a": [1]}
    assert parser.feed("more") == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a" 1}', "expected ':'"),
        ("{a: 1}", "expected an object key"),
        ('{"a": 1 "b": 2}', "expected ','"),
        ('{"a": tru}', "invalid literal"),
        ('{"a": 01}', "invalid number"),
        ('{"a": "\\x"}', "invalid escape"),
        ('{"a": "\\u12G4"}', "invalid .u escape"),
        ("[1, }", "expected a JSON value"),
    ],
)
def test_invalid_json_raises_with_position(text: str, message: str) -> None:
    parser = IncrementalJsonParser()
    with pytest.raises(JsonStreamError, match=message) as info:
        for ch in text:
            parser.feed(ch)
        parser.close()
    assert 0 <= info.value.position <= len(text)


def test_incomplete_document_raises_on_close() -> None:
    parser = IncrementalJsonParser()
    parser.feed('{"a": [1, 2')
    with pytest.raises(JsonStreamError, match="incomplete"):
        parser.close()


def test_events_report_paths_and_items_when_their_bracket_arrives() -> None:
    parser = IncrementalJsonParser(events=True, snapshots=False)
    text = '{"items": [{"x": "}"}, {"x": "]"}], "n": 2}'
    first_close = text.index("}, {") + 1
    parser.feed(text[:first_close])
    events = parser.pop_events()
    assert ItemCompleted(("items",), 0, {"x": "}"}) in events
    assert ValueCompleted(("items", 0, "x"), "}") in events
    parser.feed(text[first_close:])
    events = parser.pop_events()
    assert [e for e in events if isinstance(e, ItemCompleted)] == [
        ItemCompleted(("items",), 1, {"x": "]"})
    ]
    assert events[-1] == ValueCompleted((), json.loads(text))


def test_snapshots_share_completed_items_but_stay_unchanged() -> None:
    parser = IncrementalJsonParser()
    parser.feed('{"l": [[1], [2], "ab')
    first = parser.snapshot()
    parser.feed('c"], "z": 1}')
    final = parser.snapshot()
    assert _plain(first) == {"l": [[1], [2], "ab"]}  # an earlier snapshot does not change
    assert final == {"l": [[1], [2], "abc"], "z": 1}
