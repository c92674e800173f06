"""Streaming-run edge cases with an in-process provider (deltas scripted exactly): parallel tool
calls, errors when opening the stream, switching views mid-stream, closing an abandoned stream."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput, Usage
from instructor_py.common.errors import ProviderConnectionError, StreamClosedError
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.run.transport import TransportRetryPolicy


class User(BaseModel):
    name: str
    age: int


class FakeProvider:
    """Streams scripted delta lists, one list per request; an exception instance in the script is
    raised when the stream is opened."""

    name = "fake"
    default_model = "fake-model"
    default_mode = OutputMode.TOOLS
    supported_modes = frozenset(OutputMode)

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[InferenceRequest] = []
        self.closed = 0

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        raise NotImplementedError

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        raise NotImplementedError

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        self.requests.append(request)
        entry = self.script.pop(0)
        if isinstance(entry, Exception):
            raise entry
        return self._gen(entry)

    def _gen(self, deltas: list[InferenceDelta]) -> Iterator[InferenceDelta]:
        try:
            yield from deltas
        finally:
            self.closed += 1

    async def _agen(self, deltas: list[InferenceDelta]) -> AsyncIterator[InferenceDelta]:
        try:
            for delta in deltas:
                yield delta
        finally:
            self.closed += 1

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        self.requests.append(request)
        entry = self.script.pop(0)
        if isinstance(entry, Exception):
            raise entry
        return self._agen(entry)


def _tool_deltas(text: str, call_id: str = "call_1", size: int = 3) -> list[InferenceDelta]:
    out = [InferenceDelta(tool_call_id=call_id, tool_name="User")]
    out += [InferenceDelta(tool_arguments=text[i : i + size]) for i in range(0, len(text), size)]
    return out


def _client(provider: FakeProvider) -> StructuredOutput[User]:
    return (
        StructuredOutput()
        .with_provider(provider)
        .with_(messages="x", response_model=User, mode=OutputMode.TOOLS)
        .with_transport_retry_policy(TransportRetryPolicy(initial_delay=0, jitter=False))
    )


ANN = json.dumps({"name": "Ann", "age": 30})
END = InferenceDelta(finish_reason="tool_calls", usage=Usage(3, 4))


def test_only_the_first_tool_call_is_streamed() -> None:
    other = _tool_deltas(json.dumps({"name": "Zed", "age": 99}), call_id="call_2")
    provider = FakeProvider([[*_tool_deltas(ANN), *other, END]])
    stream = _client(provider).stream()
    partials = list(stream.partials())
    assert partials, "the first tool call streamed no partial"
    assert all(p.name in (None, "A", "An", "Ann") for p in partials)
    assert partials[-1].name == "Ann"
    response = stream.final_response()
    assert response.value == User(name="Ann", age=30) and response.raw_text == ANN
    assert response.usage == Usage(3, 4)


def test_an_error_opening_the_stream_is_a_transport_retry_without_void() -> None:
    provider = FakeProvider([ProviderConnectionError("refused"), [*_tool_deltas(ANN), END]])
    responses = list(_client(provider).stream().responses())
    assert not any(r.is_void for r in responses)
    assert responses[-1].value == User(name="Ann", age=30)
    assert len(provider.requests) == 2


def test_switching_views_mid_stream_continues_the_same_request() -> None:
    provider = FakeProvider([[*_tool_deltas(ANN, size=1), END]])
    stream = _client(provider).stream()
    first = next(iter(stream.partials()))
    assert first.name == ""
    assert stream.final_value() == User(name="Ann", age=30)
    assert len(provider.requests) == 1


def test_an_abandoned_stream_closes_the_provider_stream() -> None:
    provider = FakeProvider([[*_tool_deltas(ANN, size=1), END]])
    stream = _client(provider).stream()
    view = stream.partials()
    next(view)
    del view, stream
    gc.collect()
    assert provider.closed == 1


async def test_async_open_error_is_retried() -> None:
    provider = FakeProvider([ProviderConnectionError("refused"), [*_tool_deltas(ANN), END]])
    stream = _client(provider).astream()
    assert await stream.final_value() == User(name="Ann", age=30)
    assert len(provider.requests) == 2


def test_repr_names_the_call_and_its_state_without_secrets() -> None:
    provider = FakeProvider([[*_tool_deltas(ANN), END]])
    stream = _client(provider).stream()
    assert "open" in repr(stream) and "provider='fake'" in repr(stream)
    stream.final_value()
    assert "drained" in repr(stream) and "User" in repr(stream)


def _text_deltas(text: str, size: int = 3) -> list[InferenceDelta]:
    return [InferenceDelta(content=text[i : i + size]) for i in range(0, len(text), size)]


def test_tools_mode_answered_as_text_still_streams_partials() -> None:
    provider = FakeProvider([[*_text_deltas(f"Here:\n```json\n{ANN}\n```", size=1), END]])
    stream = _client(provider).stream()
    names = [p.name for p in stream.partials()]
    assert "An" in names and names[-1] == "Ann"
    assert stream.final_value() == User(name="Ann", age=30)


def test_tools_mode_text_then_tool_call_voids_the_text_partials() -> None:
    text = 'Let me think: {"name": "Wrong'
    provider = FakeProvider([[*_text_deltas(text), *_tool_deltas(ANN), END]])
    responses = list(_client(provider).stream().responses())
    kinds = ["void" if r.is_void else "partial" if r.is_partial else "final" for r in responses]
    void_at = kinds.index("void")
    assert kinds.count("void") == 1 and responses[void_at - 1].value.name == "Wrong"
    after_void = responses[void_at + 1 : -1]
    assert after_void, "the tool call after the void streamed no partial"
    assert all(r.value.name in ("", "A", "An", "Ann") for r in after_void)
    assert responses[-1].value == User(name="Ann", age=30)


def test_closing_a_stream_closes_the_provider_stream() -> None:
    provider = FakeProvider([[*_tool_deltas(ANN, size=1), END]])
    with _client(provider).stream() as stream:
        first = next(iter(stream.partials()))
        assert first.name == ""
    assert provider.closed == 1
    with pytest.raises(StreamClosedError, match="closed before it finished"):
        stream.final_value()
    assert len(provider.requests) == 1


async def test_async_stream_closes_on_exit() -> None:
    provider = FakeProvider([[*_tool_deltas(ANN, size=1), END]])
    async with _client(provider).astream() as stream:
        async for _ in stream.partials():
            break
        assert provider.closed == 0  # still open inside the block ...
    assert provider.closed == 1  # ... and the provider stream is closed on exit
    with pytest.raises(StreamClosedError):
        await stream.final_value()
    assert len(provider.requests) == 1
