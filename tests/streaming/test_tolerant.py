"""Streaming partials with the tolerant rules (instructor_py/streaming/tolerant.py): messy
answers give growing, monotone snapshots; strict JSON keeps the strict incremental path; the
work stays linear."""

from __future__ import annotations

import enum
import itertools
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from instructor_py import Sequence
from instructor_py.pipeline.stages import tolerant_schema
from instructor_py.response_models import to_response_model
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.shapes import MISSING
from instructor_py.streaming.spec import partial_spec
from instructor_py.streaming.tolerant import GROWTH, TolerantAssembler, extends


class Status(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class User(BaseModel):
    name: str
    age: int
    status: Status
    zip_code: str = Field(default="", alias="zipCode")


class Users(BaseModel):
    items: list[User]


def assembler(model: Any) -> TolerantAssembler:
    response_model = to_response_model(model)
    spec = partial_spec(response_model)
    strict = StreamAssembler(
        spec.object_shape,
        array_shape=spec.array_shape,
        openers=spec.openers,
        sequence_path=spec.list_path,
        events=True,
    )
    return TolerantAssembler(
        strict,
        tolerant_schema(response_model),
        shape=spec.object_shape,
        array_shape=spec.array_shape,
        sequence_path=spec.list_path,
    )


def stream(model: Any, text: str, piece: int = 3) -> tuple[TolerantAssembler, list[Any]]:
    """Feed ``text`` in ``piece``-character deltas; every snapshot as a plain dict, then the
    last one (the whole answer read tolerantly)."""
    a = assembler(model)
    snaps: list[Any] = []
    for i in range(0, len(text), piece):
        a.feed(text[i : i + piece])
        snap = a.snapshot()
        if snap is not MISSING:
            snaps.append(snap.model_dump(by_alias=False))
    last = a.finish()
    if last is not MISSING:
        snaps.append(last.model_dump(by_alias=False))
    return a, snaps


MESSY = (
    "Sure! Here it is:\n```json\n{\n  name: 'Ann Lee', // the name\n  age: 1,234,\n"
    "  status: 'Active',\n  zipCode: 'Z 12',\n}\n```\nAnything else?"
)
FINAL = {"name": "Ann Lee", "age": 1234, "status": "active", "zip_code": "Z 12"}


@pytest.mark.parametrize("piece", [1, 3, 7, 64])
def test_a_messy_answer_gives_monotone_partials_ending_at_its_reading(piece: int) -> None:
    a, snaps = stream(User, MESSY, piece)
    assert a.tolerant
    assert snaps[-1] == FINAL
    shown = [{k: v for k, v in s.items() if v is not None} for s in snaps]
    for before, after in itertools.pairwise(shown):
        assert set(before) <= set(after)  # a field once shown is not withdrawn
    for snap in shown:  # settled values never show a premature reading
        assert snap.get("age") in (None, 1234)
        assert snap.get("status") in (None, "active")
        assert FINAL["name"].startswith(snap.get("name", ""))


def test_a_number_is_not_shown_before_a_grouping_comma_settles_it() -> None:
    text = '{"name": "Bo", "age": 12,111, "status": "active"}'
    _, snaps = stream(User, text, 1)
    assert {s["age"] for s in snaps} <= {None, 12111}


def test_strict_json_that_needs_coercion_switches_to_tolerant_reading() -> None:
    text = json.dumps({"name": "Bo", "age": 3, "status": "ACTIVE", "zipCode": "1"})
    a, snaps = stream(User, text)
    assert a.tolerant
    assert {s["status"] for s in snaps} <= {None, "active"}
    assert snaps[-1] == {"name": "Bo", "age": 3, "status": "active", "zip_code": "1"}


def test_strict_json_that_fits_keeps_the_strict_path() -> None:
    text = json.dumps({"name": "Bo", "age": 3, "status": "active"})
    a, snaps = stream(User, "Sure: use {name} like this\n```json\n" + text + "\n```")
    assert not a.tolerant  # (the prose before the fence was read a few times, tolerantly)
    assert snaps[-1] == {"name": "Bo", "age": 3, "status": "active", "zip_code": None}


def test_items_of_a_messy_list_are_released_once_the_next_one_begins() -> None:
    users = [f"{{name: 'U{i}', age: {i}, status: active}}" for i in range(5)]
    text = "[" + ", ".join(users) + ",]"
    a = assembler(Sequence.of(User))
    released: list[int] = []
    for i in range(0, len(text), 2):
        a.feed(text[i : i + 2])
        for event in a.pop_items():
            released.append(event.index)
            assert event.value == {
                "name": f"U{event.index}",
                "age": event.index,
                "status": "active",
            }
            # released only after the next item has begun
            assert text[: a.text_length].count("{") > event.index + 1
    assert released == [0, 1, 2, 3]  # the last one comes with the final value


def test_total_work_is_linear_for_a_long_messy_stream() -> None:
    users = [f"{{name: 'User {i}', age: {i}, status: active}}" for i in range(450)]
    text = "{items: [" + ",\n".join(users) + ",]}"
    assert len(text) > 20_000
    a = assembler(Users)
    for i in range(0, len(text), 6):
        a.feed(text[i : i + 6])
    assert a.tolerant
    # each reading starts after GROWTH more text: about 1/GROWTH + 1 times the text in all
    assert a.read_chars < (1 / GROWTH + 2) * len(text)
    assert a.reads < 100


def test_extends_allows_growth_and_settling_but_not_withdrawal() -> None:
    assert extends({"a": "Jo", "b": [1, 2]}, {"a": "J", "b": [1]})
    assert extends({"a": 42}, {"a": "4"})  # a string shown while open, read as a number
    assert not extends({"b": [1]}, {"a": "J"})
    assert not extends({"a": "J", "b": [1]}, {"a": "J", "b": [1, 2]})


class Address(BaseModel):
    city: str


class Person(BaseModel):
    name: str
    address: Address
    age: int


def test_a_strict_nested_object_of_a_messy_answer_is_not_taken_for_the_answer() -> None:
    text = "{name: 'Ann', address: {\"city\": \"Genève\"}, age: 41}"
    a, snaps = stream(Person, text, 2)
    assert a.tolerant
    assert snaps[-1] == {"name": "Ann", "address": {"city": "Genève"}, "age": 41}
    assert all(s["name"] == "Ann" for s in snaps if s.get("address"))


class Item(BaseModel):
    id: int


class Items(BaseModel):
    items: list[Item]


def test_a_strict_object_inside_a_messy_list_does_not_hold_the_stream() -> None:
    # "{id: 2}" fails the strict path after "{"id": 1}" was read; the locator's next strict
    # candidate is the nested '{"id": 1}' again: it is not the answer
    text = '{"items": [{"id": 1}, {id: 2}, {"id": 3}]}'
    a, snaps = stream(Items, text, 1)
    assert a.tolerant
    assert snaps[-1] == {"items": [{"id": 1}, {"id": 2}, {"id": 3}]}
    assert {"items": [{"id": 1}, {"id": 2}, {"id": None}]} in snaps  # while it streamed


class Note(BaseModel):
    note: str
    age: int


def test_the_switch_never_withdraws_what_the_strict_path_showed() -> None:
    # the strict path shows the growing string "4" for age, then fails on the escape "\q":
    # the tolerant reading leaves the open value out, so it is held until age is back
    text = '{"note": "x", "age": "4\\q 2", "note2": "a long tail of text here", "k": 1}'
    a, snaps = stream(Note, text, 1)
    assert a.tolerant
    shown = [{k for k, v in s.items() if v is not None} for s in snaps]
    first = next(i for i, keys in enumerate(shown) if "age" in keys)
    assert all("age" in keys for keys in shown[first:])
