"""The local provider's choice fields, without a model: which fields are choices, where their
values sit in an answer, how a decided value is forced, what the content-free prompts hold."""

from __future__ import annotations

import json
from enum import Enum
from typing import Literal

import pytest
from pydantic import BaseModel

from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator
from instructor_py.providers.local_choices import (
    choice_fields,
    content_free_messages,
    fix_values,
    value_spans,
)
from tests.support.masks import synthetic_tokenizer


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


class Inner(BaseModel):
    mood: Mood
    note: str


class Outer(BaseModel):
    title: str
    stars: Literal[1, 2, 3]
    inner: Inner
    recommended: bool
    kind: Literal["a"] | Literal["b"]
    maybe: Mood | None = None
    tags: list[Mood] = []


def test_choice_fields_of_a_pydantic_model() -> None:
    fields = {f.json_path: f.options for f in choice_fields(Outer.model_json_schema())}
    assert fields == {
        "$.stars": (1, 2, 3),
        "$.inner.mood": ("happy", "sad"),
        "$.recommended": (True, False),
        "$.kind": ("a", "b"),
    }  # nullable and in-array choices are left to the grammar


def test_a_single_value_is_no_choice() -> None:
    schema = {"type": "object", "properties": {"k": {"enum": ["only"]}, "c": {"const": 1}}}
    assert choice_fields(schema) == []


def test_value_spans() -> None:
    text = '{"a": 1, "b": {"c": "x, y", "d": [1, {"e": 2}]}, "f": true}'
    spans = value_spans(text)
    assert {p: text[s:e] for p, (s, e) in spans.items()} == {
        ("a",): "1",
        ("b", "c"): '"x, y"',
        ("b", "d"): '[1, {"e": 2}]',
        ("b",): '{"c": "x, y", "d": [1, {"e": 2}]}',
        ("f",): "true",
    }
    assert value_spans('{"a": 1') == {} and value_spans('{"a": 1} tail') == {}


def test_fixed_values_are_forced_by_the_grammar() -> None:
    schema = Outer.model_json_schema()
    fixed = fix_values(schema, {("inner", "mood"): "sad", ("recommended",): False})
    assert fixed["properties"]["recommended"] == {"enum": [False]}
    assert schema["properties"]["recommended"] == {"title": "Recommended", "type": "boolean"}
    orch = StructuredOutputOrchestrator(synthetic_tokenizer())
    handle = orch.compile(ConstraintSpec.json_schema(fixed))
    good = {
        "title": "t",
        "stars": 2,
        "inner": {"mood": "sad", "note": "n"},
        "recommended": False,
        "kind": "a",
    }
    bad = {**good, "inner": {"mood": "happy", "note": "n"}}
    tok = orch.tokenizer_info

    def accepts(value: object) -> bool:
        m = handle.fresh().matcher
        return bool(m.accept_tokens(tok.tokenize(json.dumps(value, separators=(",", ":")))))

    assert accepts(good) and not accepts(bad)


def test_content_free_messages_replace_the_last_user_message() -> None:
    messages = [
        {"role": "system", "content": "schema"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "{}"},
        {"role": "user", "content": "the review"},
    ]
    free = content_free_messages(messages)
    assert free is not None and [m[-1]["content"] for m in free] == ["N/A", "", "[MASK]"]
    assert all(m[:3] == messages[:3] for m in free)
    assert content_free_messages([{"role": "system", "content": "x"}]) is None


@pytest.mark.parametrize("labels", [["one"], "text", 5, ["a", "a"]])
def test_classify_refuses_bad_labels(labels: object) -> None:
    from instructor_py.common.errors import ConfigurationError
    from instructor_py.local import classify

    with pytest.raises(ConfigurationError, match="classify"):
        classify("text", labels)
