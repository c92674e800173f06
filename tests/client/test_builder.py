"""The immutable builder: arguments, immutability, provider resolution."""

from __future__ import annotations

import dataclasses
import sys
import types
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import ConfigurationError, Event, OutputMode, StructuredOutput
from instructor_py.client import provider_source
from tests.support.scripted_provider import ScriptedProvider, tool


class User(BaseModel):
    name: str
    age: int


def test_every_method_returns_a_new_instance_and_leaves_the_original() -> None:
    base = StructuredOutput()
    calls = [
        lambda s: s.with_(messages="x"),
        lambda s: s.with_messages("x"),
        lambda s: s.with_response_model(User),
        lambda s: s.with_system("s"),
        lambda s: s.with_prompt("p"),
        lambda s: s.with_examples([("a", "{}")]),
        lambda s: s.with_model("m"),
        lambda s: s.with_options(temperature=0),
        lambda s: s.with_output_mode(OutputMode.JSON),
        lambda s: s.with_max_retries(5),
        lambda s: s.with_validator(lambda v: None),
        lambda s: s.with_transformer(lambda v: v),
        lambda s: s.using("openai"),
        lambda s: s.with_provider(ScriptedProvider([])),
        lambda s: s.on_event(Event, print),
        lambda s: s.wiretap(print),
        lambda s: s.into_dict(),
        lambda s: s.into(dict),
        lambda s: s.with_tool("t", "d"),
    ]
    for call in calls:
        new = call(base)
        assert new is not base and new != base
        assert base == StructuredOutput()
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.max_retries = 3  # type: ignore[misc]


@pytest.mark.parametrize("bad", [3, object(), b"bytes", [1], [{"content": "no role"}], [{"role": "user", "content": "x"}, "x"]])
def test_messages_type_error_names_the_argument(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"messages"):
        StructuredOutput().with_messages(bad)


def test_messages_forms_and_caller_objects_never_mutated() -> None:
    one = {"role": "user", "content": "hi"}
    many = [one, {"role": "assistant", "content": "yo"}]
    assert StructuredOutput().with_messages("hi").messages == ({"role": "user", "content": "hi"},)
    built = StructuredOutput().with_messages(one).messages
    assert built == (one,) and built[0] is not one
    so = StructuredOutput().with_messages(many)
    many.append({"role": "user", "content": "later"})
    one["content"] = "changed"
    assert so.messages == (
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
    )


def test_other_argument_type_errors() -> None:
    with pytest.raises(TypeError, match="system"):
        StructuredOutput().with_system(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="validator must be callable"):
        StructuredOutput().with_validator("no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="examples"):
        StructuredOutput().with_examples(5)
    with pytest.raises(TypeError, match="InferenceProvider"):
        StructuredOutput().with_provider(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_retries"):
        StructuredOutput().with_max_retries(-1)
    with pytest.raises(TypeError, match="event_type"):
        StructuredOutput().on_event(int, print)  # type: ignore[arg-type]


def test_missing_parts_are_configuration_errors() -> None:
    p = ScriptedProvider([])
    with pytest.raises(ConfigurationError, match="response_model"):
        StructuredOutput().with_provider(p).with_messages("x").create()
    with pytest.raises(ConfigurationError, match="messages"):
        StructuredOutput().with_provider(p).with_response_model(User).create()


def test_with_options_merges() -> None:
    so = StructuredOutput().with_options({"a": 1}).with_options(b=2).with_(options={"a": 3})
    assert dict(so.options) == {"a": 3, "b": 2}


def test_default_preset_from_env_else_local(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def create_provider(preset: str, **overrides: Any) -> ScriptedProvider:
        asked.append(preset)
        return ScriptedProvider([tool('{"name":"A","age":1}')], name=preset)

    try:
        import instructor_py.providers.registry as registry
    except ImportError:
        registry = types.ModuleType("instructor_py.providers.registry")
        monkeypatch.setitem(sys.modules, "instructor_py.providers.registry", registry)
    monkeypatch.setattr(registry, "create_provider", create_provider, raising=False)
    monkeypatch.setattr(provider_source, "_defaults", {})
    monkeypatch.delenv("INSTRUCTOR_PY_PRESET", raising=False)
    assert StructuredOutput().resolve_provider().name == "local"
    monkeypatch.setenv("INSTRUCTOR_PY_PRESET", "ollama")
    value = StructuredOutput().with_(messages="x", response_model=User).get()
    assert value == User(name="A", age=1)
    assert asked == ["local", "ollama"]


async def test_async_shorthands() -> None:
    p = ScriptedProvider([tool('{"name":"A","age":1}'), tool('{"name":"B","age":2}')])
    so = StructuredOutput().with_provider(p).with_(messages="x", response_model=User)
    r = await so.aresponse()
    assert r.value == User(name="A", age=1) and r.raw_text == '{"name":"A","age":1}'
    assert not r.is_partial and len(r.attempts) == 1
    assert await so.aget() == User(name="B", age=2)  # a new create() sends again
