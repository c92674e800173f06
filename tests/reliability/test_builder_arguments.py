"""Every public builder method rejects a wrong type or value with a typed error that names the
argument (and says what it takes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import InstructorError, StructuredOutput
from instructor_py.common.errors import ConfigurationError


class User(BaseModel):
    name: str


SO: StructuredOutput[Any] = StructuredOutput()

# (method call, the argument name the error must mention)
CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("with_messages int", lambda: SO.with_messages(42), "messages"),
    ("with_messages bad dict", lambda: SO.with_messages({"role": "user"}), "content"),
    ("with_messages bad role", lambda: SO.with_messages([{"role": "wizard", "content": "x"}]), "role"),
    ("with_response_model 3", lambda: SO.with_response_model(3), "response_model"),
    ("with_response_model object", lambda: SO.with_response_model(object()), "response_model"),
    ("with_system int", lambda: SO.with_system(1), "system"),  # type: ignore[arg-type]
    ("with_prompt list", lambda: SO.with_prompt(["x"]), "prompt"),  # type: ignore[arg-type]
    ("with_examples int", lambda: SO.with_examples(5), "examples"),
    ("with_model int", lambda: SO.with_model(4), "model"),  # type: ignore[arg-type]
    ("with_options list", lambda: SO.with_options(["t"]), "options"),  # type: ignore[arg-type]
    ("with_options non-str key", lambda: SO.with_options({1: 2}), "options"),
    ("with_output_mode bogus", lambda: SO.with_output_mode("telepathy"), "mode"),
    ("with_output_mode int", lambda: SO.with_output_mode(3), "mode"),  # type: ignore[arg-type]
    ("with_max_retries -1", lambda: SO.with_max_retries(-1), "max_retries"),
    ("with_max_retries str", lambda: SO.with_max_retries("2"), "max_retries"),  # type: ignore[arg-type]
    ("with_max_retries bool", lambda: SO.with_max_retries(True), "max_retries"),
    ("with_max_retries float", lambda: SO.with_max_retries(1.5), "max_retries"),  # type: ignore[arg-type]
    ("with_retry_prompt None", lambda: SO.with_retry_prompt(None), "retry_prompt"),  # type: ignore[arg-type]
    ("with_retry_options list", lambda: SO.with_retry_options([1]), "retry options"),  # type: ignore[arg-type]
    ("with_tool name int", lambda: SO.with_tool(3), "tool_name"),  # type: ignore[arg-type]
    ("with_tool description int", lambda: SO.with_tool("t", 3), "tool_description"),  # type: ignore[arg-type]
    ("with_validator str", lambda: SO.with_validator("x"), "validator"),  # type: ignore[arg-type]
    ("with_transformer None", lambda: SO.with_transformer(None), "transformer"),  # type: ignore[arg-type]
    ("with_pipeline dict", lambda: SO.with_pipeline({}), "pipeline"),  # type: ignore[arg-type]
    ("with_transport_retry_policy int", lambda: SO.with_transport_retry_policy(3), "policy"),  # type: ignore[arg-type]
    ("into 5", lambda: SO.into(5), "into"),
    ("using int", lambda: SO.using(5), "preset"),  # type: ignore[arg-type]
    ("using unknown", lambda: SO.using("no-such-provider").resolve_provider(), "no-such-provider"),
    ("using api_key int", lambda: SO.using("openai", api_key=123).resolve_provider(), "api_key"),
    ("using base_url int", lambda: SO.using("openai", api_key="k", base_url=5).resolve_provider(), "base_url"),
    ("using timeout str", lambda: SO.using("openai", api_key="k", timeout="x").resolve_provider(), "timeout"),
    ("using timeout 0", lambda: SO.using("anthropic", api_key="k", timeout=0).resolve_provider(), "timeout"),
    ("using headers list", lambda: SO.using("openai", api_key="k", headers=[1]).resolve_provider(), "headers"),
    ("using mode bogus", lambda: SO.using("openai", api_key="k", mode="x").resolve_provider(), "mode"),
    ("using unknown override", lambda: SO.using("openai", api_key="k", temprature=1).resolve_provider(), "temprature"),
    ("using local n_ctx str", lambda: SO.using("local", n_ctx="big").resolve_provider(), "n_ctx"),
    ("using local max_tokens str", lambda: SO.using("local", max_tokens="x").resolve_provider(), "max_tokens"),
    ("using local api_key", lambda: SO.using("local", api_key="k").resolve_provider(), "api_key"),
    ("with_provider str", lambda: SO.with_provider("openai"), "with_provider"),  # type: ignore[arg-type]
    ("on_event str", lambda: SO.on_event("Event", print), "event_type"),  # type: ignore[arg-type]
    ("on_event handler", lambda: SO.on_event(__import__("instructor_py").Event, 3), "handler"),
    ("wiretap int", lambda: SO.wiretap(3), "handler"),  # type: ignore[arg-type]
    ("with_ max_retries", lambda: SO.with_(messages="x", max_retries=-2), "max_retries"),
    ("with_ mode", lambda: SO.with_(messages="x", mode="nope"), "mode"),
    ("with_ options", lambda: SO.with_(messages="x", options="temperature=1"), "options"),  # type: ignore[arg-type]
    ("stream partial_strings", lambda: SO.with_(messages="x", response_model=User).with_provider(_provider()).stream(partial_strings="yes"), "partial_strings"),  # type: ignore[arg-type]
]


def _provider() -> Any:
    from tests.support.scripted_provider import ScriptedProvider

    return ScriptedProvider([])


@pytest.mark.parametrize(("call", "argument"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_argument_is_a_typed_error_naming_it(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(InstructorError) as info:
        call()
    assert argument in str(info.value), str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_type_errors_are_still_type_errors() -> None:
    """Code catching TypeError for a wrong type keeps working."""
    with pytest.raises(TypeError):
        SO.with_system(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SO.with_validator("x")  # type: ignore[arg-type]


def test_the_builder_is_unchanged_after_a_rejected_argument() -> None:
    base = SO.with_(messages="x", response_model=User, max_retries=1)
    with pytest.raises(InstructorError):
        base.with_max_retries(-1)
    assert base.max_retries == 1 and len(base.messages) == 1
