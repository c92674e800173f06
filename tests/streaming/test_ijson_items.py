"""sequence() alone: items through ijson's C parser (same items, same contract as the
incremental parser), and partials replayed from the final answer afterwards."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from instructor_py import Sequence, StructuredOutput
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.ijson_items import AVAILABLE, IjsonItemsParser
from instructor_py.streaming.json_parser import IncrementalJsonParser, JsonStreamError
from instructor_py.streaming.shapes import RAW_SHAPE, PartialList
from tests.streaming.test_locator_reasoning import ChunkProvider

if not AVAILABLE:
    pytest.skip("ijson's C backend (the 'fast' extra) is not installed", allow_module_level=True)


class Person(BaseModel):
    name: str
    age: int


ITEMS = [{"name": f"P{i}", "age": i, "tags": ["a", {"b": [1, 2.5, None, True]}]} for i in range(40)]


def _items(text: str, size: int, *, items_only: bool) -> list[object]:
    assembler = StreamAssembler(
        RAW_SHAPE, snapshots=not items_only, items_only=items_only, sequence_path=("items",)
    )
    out: list[object] = []
    for i in range(0, len(text), size):
        assembler.feed(text[i : i + size])
        out.extend(e.value for e in assembler.pop_items())
    return out


@pytest.mark.parametrize("size", [1, 5, 64, 10_000])
@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"items": ITEMS, "more": {"items": [0]}}),
        "Here you go: " + json.dumps(ITEMS) + " -- done",  # a bare array after prose
        "use {items} like this: ```json\n" + json.dumps({"items": [1, "x", None]}) + "\n```",
        "<think>{not json}</think>" + json.dumps({"items": []}),
    ],
)
def test_ijson_items_equal_the_incremental_parsers(text: str, size: int) -> None:
    assert _items(text, size, items_only=True) == _items(text, size, items_only=False)


def test_the_items_parser_reports_errors_and_completion() -> None:
    parser = IjsonItemsParser(("items",))
    parser.feed('{"items": [1, 2]')
    assert [e.value for e in parser.pop_events()] == [1, 2] and not parser.done
    parser.feed("} and then prose {")
    assert parser.done and parser.feed("more") == 0
    with pytest.raises(JsonStreamError):
        IjsonItemsParser(("items",)).feed("{name}")
    with pytest.raises(JsonStreamError):
        IncrementalJsonParser().feed("{name}")  # the same failure the locator restarts on


def test_sequence_first_uses_ijson_and_partials_replay_the_final_answer() -> None:
    answer = json.dumps({"items": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]})
    stream = (
        StructuredOutput()
        .with_provider(ChunkProvider(answer, size=3))
        .with_("x", Sequence.of(Person))
        .stream()
    )
    items = list(stream.sequence())
    assert items == [Person(name="A", age=1), Person(name="B", age=2)] == stream.final_value()
    assert isinstance(stream._state.session._assembler.parser, IjsonItemsParser)
    (replay,) = list(stream.partials())
    assert isinstance(replay, PartialList) and [p.name for p in replay] == ["A", "B"]
