"""Partial twins, the assembler (the code path of partials()/sequence()), the text locator and the
sequence tracker's retry contract."""

from __future__ import annotations

import enum
import itertools
import json
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from instructor_py.common.errors import SequenceContradictionError
from instructor_py.streaming import (
    MISSING,
    IncrementalJsonParser,
    JsonTextLocator,
    PartialList,
    PartialModel,
    SequenceTracker,
    StreamAssembler,
    model_shape,
    partial_model,
)


class Address(BaseModel):
    city: str
    zip_code: str = Field(alias="zip")


class Person(BaseModel):
    name: str
    age: int
    address: Address
    tags: list[str]
    friends: list[Address] = []
    scores: dict[str, Address] = {}

    @field_validator("name")
    @classmethod
    def name_is_long(cls, v: str) -> str:
        if len(v) < 5:
            raise ValueError("name too short")
        return v

    @model_validator(mode="after")
    def adult(self) -> Person:
        if self.age < 18:
            raise ValueError("not an adult")
        return self


class Node(BaseModel):
    label: str
    children: list[Node] = []


PERSON = {
    "name": "Jason Liu",
    "age": 25,
    "address": {"city": "Zürich", "zip": "8001"},
    "tags": ["a}", "b]"],
    "friends": [{"city": "Bern", "zip": "3000"}],
    "scores": {"x": {"city": "Basel", "zip": "4000"}},
}


def _stream(model: type[BaseModel], text: str, size: int = 1, **kwargs: Any) -> list[Any]:
    asm = StreamAssembler(model_shape(model), **kwargs)
    out = []
    for i in range(0, len(text), size):
        asm.feed(text[i : i + size])
        snap = asm.snapshot()
        if snap is not MISSING:
            out.append(snap)
    return out


def test_twin_has_every_field_optional_and_no_validators() -> None:
    twin = partial_model(Person)
    assert twin is partial_model(Person)  # cached
    assert issubclass(twin, PartialModel) and twin.partial_of is Person
    assert twin.__name__ == "PartialPerson"
    empty = twin()
    assert empty.model_dump() == dict.fromkeys(Person.model_fields)
    # A short name and a child's age would fail Person's validators; the twin does not run them.
    snaps = _stream(Person, json.dumps({**PERSON, "name": "Al", "age": 3}))
    assert snaps[-1].name == "Al" and snaps[-1].age == 3
    with pytest.raises(ValidationError):
        Person.model_validate({**PERSON, "name": "Al"})


def test_snapshots_grow_with_nested_twins_lists_and_aliases() -> None:
    snaps = _stream(Person, json.dumps(PERSON))
    names = [s.name for s in snaps if s.name is not None]
    assert names[0] == "" and "Jas" in names and names[-1] == "Jason Liu"  # strings grow
    final = snaps[-1]
    assert type(final).__name__ == "PartialPerson"
    assert type(final.address).__name__ == "PartialAddress"
    assert final.address.zip_code == "8001"  # JSON key is the alias
    assert isinstance(final.friends, PartialList) and final.friends == [
        partial_model(Address)(city="Bern", zip_code="3000")
    ]
    assert type(final.scores["x"]).__name__ == "PartialAddress"
    assert final.model_dump() == Person.model_validate(PERSON).model_dump()
    assert json.loads(final.model_dump_json()) == json.loads(
        Person.model_validate(PERSON).model_dump_json()
    )
    # Growing tags list: an in-progress item shows, completed items are stable.
    tag_lists = [list(s.tags) for s in snaps if s.tags is not None]
    assert [] in tag_lists and ["a"] in tag_lists and tag_lists[-1] == ["a}", "b]"]
    # No two consecutive snapshots are equal.
    assert all(a != b for a, b in itertools.pairwise(snaps))


def test_partial_strings_off_and_numbers_only_complete() -> None:
    snaps = _stream(Person, json.dumps(PERSON), partial_strings=False)
    assert next(s.name for s in snaps if s.name is not None) == "Jason Liu"
    assert {s.age for s in snaps} == {None, 25}


def test_recursive_models_and_unknown_keys() -> None:
    doc = {
        "label": "root",
        "extra": {"ignored": [1, 2]},
        "children": [{"label": "c1", "children": []}],
    }
    snaps = _stream(Node, json.dumps(doc), size=3)
    assert snaps[-1].label == "root"
    assert snaps[-1].model_dump() == {
        "label": "root",
        "children": [{"label": "c1", "children": []}],
    }
    # The unknown "extra" key never produces a snapshot of its own.
    assert all(a != b for a, b in itertools.pairwise(snaps))


def test_old_snapshots_do_not_change() -> None:
    asm = StreamAssembler(model_shape(Person))
    text = json.dumps(PERSON)
    cut = text.index("Bern") + 2
    asm.feed(text[:cut])
    early = asm.snapshot()
    dumped = early.model_dump()
    asm.feed(text[cut:])
    assert asm.snapshot() is not MISSING
    assert early.model_dump() == dumped
    assert early.friends[0].city == "Be"
    with pytest.raises(ValidationError):  # snapshots are frozen
        early.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        '{"city": "Bern", "zip": "3000"}',
        'Sure! Here it is: {"city": "Bern", "zip": "3000"} Anything else?',
        'Use the format {city} here:\n```json\n{"city": "Bern", "zip": "3000"}\n```\nDone.',
        'Result:\n```\n{"city": "Bern", "zip": "3000"}\n```',
        '```JSON\n  {"city": "Bern", "zip": "3000"}```',
    ],
)
def test_locator_finds_the_document_at_every_split(text: str) -> None:
    for size in (1, 2, 5, 7):
        snaps = _stream(Address, text, size=size, openers="{")
        assert snaps[-1] == partial_model(Address)(city="Bern", zip_code="3000"), (size, text)


def test_locator_gives_up_after_too_many_restarts() -> None:
    locator = JsonTextLocator(IncrementalJsonParser, openers="{", max_restarts=2)
    locator.feed("{a} {b} {c} {d}")
    assert locator.gave_up and locator.restarts == 3 and not locator.done


def test_items_reported_as_soon_as_their_bracket_arrives() -> None:
    class Items(BaseModel):
        items: list[Address]

    text = json.dumps({"items": [{"city": "B}e]rn", "zip": "1"}, {"city": "Basel", "zip": "2"}]})
    asm = StreamAssembler(model_shape(Items), sequence_path=("items",), snapshots=False)
    seen: list[tuple[int, int]] = []
    for pos, ch in enumerate(text):
        asm.feed(ch)
        seen.extend((e.index, pos) for e in asm.pop_items())
    # The "}" and "]" inside the first city do not count; each item is reported at its own "}".
    first_end = text.index('"1"}') + 3
    second_end = text.index('"2"}') + 3
    assert seen == [(0, first_end), (1, second_end)]


def _validate(raw: Any) -> Address:
    return Address.model_validate(raw)


A = {"city": "Bern", "zip": "3000"}
B = {"city": "Basel", "zip": "4000"}
C = {"city": "Chur", "zip": "7000"}


def test_tracker_yields_each_item_once_across_a_retry() -> None:
    tracker = SequenceTracker(_validate)
    assert tracker.offer(0, A) == _validate(A)
    assert tracker.offer(1, {"city": "Basel"}) is None  # invalid: blocks the rest of the attempt
    assert tracker.offer(2, C) is None
    tracker.new_attempt()
    assert tracker.offer(0, A) is None  # identical: confirmed, not repeated
    assert tracker.offer(1, B) == _validate(B)
    assert tracker.offer(2, C) == _validate(C)
    assert tracker.finish([_validate(x) for x in (A, B, C)], value=None) == []
    assert tracker.yielded == tuple(_validate(x) for x in (A, B, C))


def test_tracker_yields_final_items_not_seen_while_streaming() -> None:
    tracker = SequenceTracker(_validate)
    assert tracker.offer(0, A) is not None
    assert tracker.finish([_validate(A), _validate(B)], value="v") == [_validate(B)]


def test_tracker_reports_a_contradiction() -> None:
    tracker = SequenceTracker(_validate)
    tracker.offer(0, A)
    tracker.offer(1, B)
    tracker.new_attempt()
    assert tracker.offer(0, A) is None
    assert tracker.offer(1, C) is None  # diverged: nothing more from this attempt
    with pytest.raises(SequenceContradictionError, match="item 1 was already yielded") as info:
        tracker.finish([_validate(A), _validate(C)], value="final")
    assert info.value.index == 1 and info.value.value == "final"


def test_tracker_reports_fewer_items_as_a_contradiction() -> None:
    tracker = SequenceTracker(_validate)
    tracker.offer(0, A)
    tracker.offer(1, B)
    tracker.new_attempt()
    with pytest.raises(SequenceContradictionError, match="fewer items"):
        tracker.finish([_validate(A)], value=None)


person_docs = st.fixed_dictionaries(
    {
        "name": st.text(),
        "age": st.integers(min_value=-(10**6), max_value=10**6),
        "address": st.fixed_dictionaries(
            {"city": st.text(max_size=10), "zip": st.text(max_size=5)}
        ),
        "tags": st.lists(st.text(max_size=6), max_size=4),
        "friends": st.lists(
            st.fixed_dictionaries({"city": st.text(max_size=5), "zip": st.just("1")}), max_size=3
        ),
    }
)
prose = st.text(alphabet=st.characters(blacklist_characters="{[`"), max_size=20)


def _chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=150, deadline=None)
@given(
    doc=person_docs,
    cuts=st.lists(st.integers(min_value=0), max_size=30),
    before=prose,
    after=prose,
    fenced=st.booleans(),
    ascii_=st.booleans(),
)
def test_any_chunking_of_any_wrapping_gives_consistent_twins(
    doc: dict[str, Any],
    cuts: list[int],
    before: str,
    after: str,
    fenced: bool,
    ascii_: bool,
) -> None:
    body = json.dumps(doc, ensure_ascii=ascii_)
    text = f"{before}\n```json\n{body}\n```{after}" if fenced else f"{before}{body}{after}"
    asm = StreamAssembler(model_shape(Person), openers="{")
    dumps = []
    for chunk in _chunked(text, cuts):
        asm.feed(chunk)
        snap = asm.snapshot()
        if snap is not MISSING:
            dumps.append(snap.model_dump())
    assert asm.done and asm.value == doc

    def by_name(address: dict[str, str]) -> dict[str, str]:
        return {"city": address["city"], "zip_code": address["zip"]}

    expected = {
        **doc,
        "address": by_name(doc["address"]),
        "friends": [by_name(f) for f in doc["friends"]],
        "scores": None,
    }
    assert dumps[-1] == expected
    for dump in dumps:
        for key, value in dump.items():
            if value is None:
                continue
            final = expected[key]
            if isinstance(value, str):
                assert final.startswith(value)
            elif isinstance(value, list):
                assert len(value) <= len(final) and value[:-1] == final[: max(len(value) - 1, 0)]
                if value and isinstance(value[-1], str):
                    assert final[len(value) - 1].startswith(value[-1])
            elif isinstance(value, dict):
                assert all(v is None or final[k].startswith(v) for k, v in value.items())
            else:
                assert value == final


class Color(enum.Enum):
    RED = "crimson red"
    BLUE = "deep blue"


class Ticket(BaseModel):
    title: str
    status: Literal["in progress", "closed"]
    colors: list[Color]
    by_name: dict[str, Color] = {}


def test_literal_and_enum_strings_appear_only_complete() -> None:
    doc = {
        "title": "Fix it",
        "status": "in progress",
        "colors": ["deep blue", "crimson red"],
        "by_name": {"x": "deep blue"},
    }
    snaps = _stream(Ticket, json.dumps(doc))
    assert {s.status for s in snaps} == {None, "in progress"}
    assert {tuple(s.colors) for s in snaps if s.colors is not None} == {
        (),
        ("deep blue",),
        ("deep blue", "crimson red"),
    }
    assert {s.by_name["x"] for s in snaps if s.by_name} == {"deep blue"}
    assert len({s.title for s in snaps if s.title is not None}) > 3  # a plain str still grows


def test_partial_list_behaves_like_a_read_only_list() -> None:
    backing = [1, 2, 3]
    view = PartialList(backing, 2, "tail")
    backing.append(4)  # later appends do not show in an existing view
    assert len(view) == 3 and list(view) == [1, 2, "tail"] and view == [1, 2, "tail"]
    assert (
        view[-1] == "tail"
        and view[0] == 1
        and view[1:] == [2, "tail"]
        and view[::-1] == ["tail", 2, 1]
    )
    assert view == (1, 2, "tail") and view != [1, 2] and repr(view) == "[1, 2, 'tail']"
    with pytest.raises(IndexError):
        view[3]
    assert PartialList(backing, 2) == PartialList([1, 2], 2) and PartialList(backing, 0) == []
