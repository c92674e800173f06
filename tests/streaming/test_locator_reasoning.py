"""Reasoning blocks (``<think>...</think>``) before the answer are skipped by the streaming
locator, as extraction drops them: braces in the reasoning never become partials."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput
from instructor_py.common.usage import Usage
from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse
from instructor_py.streaming import IncrementalJsonParser, JsonTextLocator
from instructor_py.streaming.shapes import RAW_SHAPE

ANSWER = '{"name": "J", "age": 2}'
REASONING = '<think>They said {name}; maybe {"name": "X", "age": 1}? No.</think>\n'


class User(BaseModel):
    name: str
    age: int


@pytest.mark.parametrize("tag", ["think", "thinking", "reasoning", "THINK"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 500])
def test_locator_skips_reasoning_in_any_chunking(tag: str, size: int) -> None:
    text = REASONING.replace("think>", f"{tag}>") + ANSWER
    locator = JsonTextLocator(lambda: IncrementalJsonParser(RAW_SHAPE))
    for i in range(0, len(text), size):
        locator.feed(text[i : i + size])
    assert locator.done and locator.restarts == 0
    assert locator.parser is not None and locator.parser.value == {"name": "J", "age": 2}


def test_a_lone_angle_bracket_is_not_a_reasoning_block() -> None:
    locator = JsonTextLocator(lambda: IncrementalJsonParser(RAW_SHAPE))
    for piece in ("a < b, <thin", "gs> here: ", ANSWER):
        locator.feed(piece)
    assert locator.done and locator.parser is not None
    assert locator.parser.value == {"name": "J", "age": 2}


class ChunkProvider:
    name = "chunks"
    default_model = "m"
    default_mode = OutputMode.JSON
    supported_modes = frozenset({OutputMode.JSON, OutputMode.MD_JSON})

    def __init__(self, text: str, size: int = 4) -> None:
        self.pieces = [text[i : i + size] for i in range(0, len(text), size)]

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        return InferenceResponse(content="".join(self.pieces), finish_reason="stop")

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        return self.infer(request)

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        for piece in self.pieces:
            yield InferenceDelta(content=piece)
        yield InferenceDelta(finish_reason="stop", usage=Usage(1, 1))

    async def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        for delta in self.stream(request):
            yield delta


def test_stream_partials_never_show_the_reasoning() -> None:
    stream = (
        StructuredOutput()
        .with_provider(ChunkProvider(REASONING + ANSWER))
        .with_("Jason", User)
        .stream()
    )
    responses = list(stream.responses())
    assert not any(r.is_void for r in responses)  # nothing was published from the reasoning
    names = {getattr(r.value, "name", None) for r in responses if r.is_partial}
    assert "X" not in names and "J" in names
    assert stream.final_value() == User(name="J", age=2)
