"""The public API exports what documented methods need (every error a caller catches, every event
class, the provider protocol and its records, the retry policies, the registry) and hides the
run's internals."""

from __future__ import annotations

import inspect

import instructor_py
import instructor_py.common.errors as errors
import instructor_py.local as local
import instructor_py.run.events as events


def _classes(module: object, base: type) -> set[str]:
    return {
        name
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, base) and obj.__module__ == module.__name__  # type: ignore[attr-defined]
    }


def test_every_error_and_event_class_is_exported() -> None:
    exported = set(instructor_py.__all__)
    assert _classes(errors, errors.InstructorError) <= exported
    assert _classes(events, events.Event) <= exported
    for name in instructor_py.__all__:
        assert getattr(instructor_py, name) is not None


def test_protocol_records_policies_and_registry_are_exported() -> None:
    for name in (
        "InferenceProvider", "InferenceRequest", "InferenceResponse", "InferenceDelta", "ToolCall",
        "ToolSpec", "TransportRetryPolicy", "ValidationRetryPolicy", "CallSpec", "create_provider",
        "register_preset", "ProviderPreset", "RateLimitError", "ServerError", "MissingAPIKeyError",
    ):  # fmt: skip
        assert name in instructor_py.__all__, name


def test_run_internals_are_not_exported() -> None:
    for name in ("AttemptIterator", "ProviderCall", "StreamSession", "RunObserver"):
        assert name not in instructor_py.__all__


def test_the_local_provider_and_its_options_are_reachable_from_instructor_py_local() -> None:
    from instructor_py.providers.local import LocalProvider

    assert local.LocalProvider is LocalProvider
    assert {"LocalProvider", "LocalGeneration", "ModelOptions", "SamplingParams"} <= set(local.__all__)
    provider = local.LocalProvider.from_options(max_tokens=64)
    assert provider.max_tokens == 64 and provider.enforces_schema


def test_instructor_py_local_exports_the_engine_toolkit() -> None:
    toolkit = {
        "ConstraintSpec", "ConstraintOptions", "StructuredOutputOrchestrator", "AsyncStructuredOutputOrchestrator",
        "TokenizerInfo", "Backend", "BackendMatcher", "Matcher", "CompiledGrammarHandle", "BatchProcessor",
        "allocate_bitmask", "apply_bitmask", "apply_bitmask_batch", "StructuringEngine", "LlamaDecoder",
        "GuidanceBackend", "OrchestratorStats", "ChatTemplate",
    }  # fmt: skip
    assert toolkit <= set(local.__all__), toolkit - set(local.__all__)
    for name in toolkit:
        assert getattr(local, name) is not None, name


def test_on_event_is_typed_by_the_event_class(tmp_path: object) -> None:
    """mypy reads the handler's argument as the event class it was registered for: a handler of
    another event class is a type error."""
    from pathlib import Path

    from mypy import api

    snippet = Path(str(tmp_path)) / "typed_events.py"
    snippet.write_text(
        "from typing_extensions import assert_type\n"
        "from instructor_py import RetryScheduled, StreamStopped, StructuredOutput\n"
        "def on_stop(event: StreamStopped) -> None:\n"
        "    assert_type(event.received_bytes, int)\n"
        "def on_retry(event: RetryScheduled) -> None: ...\n"
        "StructuredOutput().on_event(StreamStopped, on_stop)\n"
        "StructuredOutput().on_event(StreamStopped, lambda e: assert_type(e, StreamStopped))\n"
        "StructuredOutput().on_event(StreamStopped, on_retry)  # the one error\n",
        encoding="utf-8",
    )
    out, _, status = api.run(["--strict", "--follow-imports=silent", str(snippet)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1 and len(errors) == 1, out
    assert ":8:" in errors[0] and "on_event" in errors[0], out
