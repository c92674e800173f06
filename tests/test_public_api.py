"""The public API exports what documented methods need (every error a caller catches, every event
class, the provider protocol and its records, the retry policies, the registry) and hides the
run's internals."""

from __future__ import annotations

import inspect

import instructor_py
import instructor_py.errors as errors
import instructor_py.events as events
import instructor_py.local as local


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
