"""Events, logging, and secret hygiene."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput, StructuredOutputRetryError, UnsupportedModeError
from instructor_py.common.errors import RateLimitError
from instructor_py.common.modes import OutputMode
from instructor_py.run.events import (
    AttemptFailed,
    Event,
    ExtractionFailed,
    InferenceRequested,
    InferenceResponseReceived,
    ResponseGenerated,
    RetriesExhausted,
    RetryScheduled,
    StructuredOutputStarted,
    ValidationFailed,
)
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.scripted_provider import ScriptedProvider, tool

SECRET = "sk-test-SECRET-0123456789abcdef"


class User(BaseModel):
    name: str
    age: int


def test_event_sequence_for_a_retry_then_success() -> None:
    seen: list[Event] = []
    p = ScriptedProvider([tool('{"name":"A","age":"x"}'), tool('{"name":"A","age":1}')])
    StructuredOutput().with_provider(p).with_(messages="m", response_model=User).wiretap(
        seen.append
    ).get()
    assert [type(e) for e in seen] == [
        StructuredOutputStarted,
        InferenceRequested,
        InferenceResponseReceived,
        ValidationFailed,
        AttemptFailed,
        RetryScheduled,
        InferenceRequested,
        InferenceResponseReceived,
        ResponseGenerated,
    ]
    assert len({e.request_id for e in seen}) == 1
    failed = seen[3]
    assert isinstance(failed, ValidationFailed) and failed.stage == "schema"
    assert failed.errors == ("$.age: 'x' is not of type 'integer'",)
    retry = seen[5]
    assert isinstance(retry, RetryScheduled) and retry.kind == "validation"
    done = seen[-1]
    assert isinstance(done, ResponseGenerated) and done.attempts == 2
    assert done.usage.input_tokens == 20


def test_on_event_matches_by_isinstance_and_extraction_failure_is_reported() -> None:
    failures: list[Event] = []
    everything: list[Event] = []
    exhausted: list[RetriesExhausted] = []
    p = ScriptedProvider([tool("no json here")])
    so = (
        StructuredOutput()
        .with_provider(p)
        .with_(messages="m", response_model=User, max_retries=0)
        .on_event(ExtractionFailed, failures.append)
        .on_event(Event, everything.append)
        .on_event(RetriesExhausted, exhausted.append)
    )
    with pytest.raises(StructuredOutputRetryError):
        so.get()
    assert [type(e) for e in failures] == [ExtractionFailed]
    assert len(everything) == 6
    assert exhausted[0].attempts == 1


def test_events_are_logged_under_instructor_py(caplog: pytest.LogCaptureFixture) -> None:
    p = ScriptedProvider([tool("{}"), tool('{"name":"A","age":1}')])
    with caplog.at_level(logging.DEBUG, logger="instructor_py"):
        StructuredOutput().with_provider(p).with_(messages="m", response_model=User).get()
    names = {r.name for r in caplog.records}
    assert names == {"instructor_py"}
    text = caplog.text
    assert "StructuredOutputStarted" in text and "AttemptFailed" in text
    assert any(r.levelno == logging.INFO and "RetryScheduled" in r.getMessage() for r in caplog.records)


@dataclass
class KeyedProvider(ScriptedProvider):
    """A provider holding a key the way a real driver would (kept out of its repr)."""

    api_key: str = field(default="", repr=False)


def install_fake_registry(monkeypatch: pytest.MonkeyPatch, made: list[dict[str, Any]]) -> None:
    def create_provider(preset: str, **overrides: Any) -> KeyedProvider:
        made.append({"preset": preset, **overrides})
        return KeyedProvider(
            [RateLimitError("rate limited", retry_after=0.0), tool("{}"), tool("{}")],
            name=preset,
            api_key=overrides["api_key"],
            supported_modes=frozenset({OutputMode.TOOLS}),
        )

    import instructor_py.providers.registry as registry

    monkeypatch.setattr(registry, "create_provider", create_provider)


def test_api_key_never_appears_in_events_logs_reprs_or_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    made: list[dict[str, Any]] = []
    install_fake_registry(monkeypatch, made)
    seen: list[Event] = []
    so = (
        StructuredOutput()
        .using("openai", api_key=SECRET, base_url="http://127.0.0.1:9")
        .with_(messages="m", response_model=User, max_retries=1)
        .with_transport_retry_policy(TransportRetryPolicy(initial_delay=0, jitter=False))
        .wiretap(seen.append)
    )
    assert made == []  # lazy: nothing is created before use
    texts = [repr(so), str(so)]
    with caplog.at_level(logging.DEBUG, logger="instructor_py"):
        pending = so.create()
        texts += [repr(pending), repr(pending.plan), repr(pending.request)]
        with pytest.raises(StructuredOutputRetryError) as info:
            pending.get()
    assert made and made[0]["api_key"] == SECRET  # the key did reach the provider
    err = info.value
    texts += [str(err), repr(err), repr(err.attempts), caplog.text]
    texts += [repr(e) for e in seen]
    with pytest.raises(UnsupportedModeError) as mode_err:
        so.with_output_mode("json").create()
    texts.append(str(mode_err.value))
    assert any(isinstance(e, RetryScheduled) and e.kind == "transport" for e in seen)
    assert "api_key" in repr(so)  # the override's name is shown ...
    for t in texts:
        assert SECRET not in t  # ... never its value
        assert SECRET[:12] not in t


def test_using_resolves_once_per_builder_family(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    install_fake_registry(monkeypatch, made)
    base = StructuredOutput().using("openai", api_key=SECRET)
    a = base.with_(messages="a", response_model=User)
    b = base.with_(messages="b", response_model=User)
    assert a.resolve_provider() is b.resolve_provider()
    assert len(made) == 1
    # an identical using() call reuses the provider (one client, one connection pool) ...
    again = StructuredOutput().using("openai", api_key=SECRET).resolve_provider()
    assert again is a.resolve_provider() and len(made) == 1
    # ... different overrides do not
    other = StructuredOutput().using("openai", api_key=SECRET + "x").resolve_provider()
    assert other is not again and len(made) == 2
    # unhashable overrides (a headers dict) reach the provider; such a source is not shared
    # across using() calls, but a builder family still resolves it once
    with_headers = StructuredOutput().using("openai", api_key=SECRET, headers={"a": "b"})
    provider = with_headers.resolve_provider()
    assert provider is not again and len(made) == 3 and made[-1]["headers"] == {"a": "b"}
    assert with_headers.with_(messages="c").resolve_provider() is provider and len(made) == 3


def test_nothing_reaches_stderr_without_logging_configured() -> None:
    """A library adds no output: retries running out logs a WARNING record, which Python's
    last-resort handler would print to stderr if instructor_py's logger had no handler."""
    import subprocess
    from pathlib import Path

    script = (
        "from pydantic import BaseModel\n"
        "from instructor_py import StructuredOutput, StructuredOutputRetryError\n"
        "from tests.support.scripted_provider import ScriptedProvider, tool\n"
        "class User(BaseModel):\n"
        "    name: str\n"
        "    age: int\n"
        "provider = ScriptedProvider([tool('{\"name\": \"Jo\"}')])\n"
        "try:\n"
        "    StructuredOutput().with_provider(provider).with_(\n"
        "        messages='Jo', response_model=User, max_retries=0).get()\n"
        "except StructuredOutputRetryError:\n"
        "    print('raised')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=False
    )
    assert done.stdout.strip() == "raised", done.stderr
    assert done.stderr == ""
