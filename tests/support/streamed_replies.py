"""Shared pieces of the streaming tests: a client pointed at the scripted server for either wire
format, and streamed (SSE) answers in any mode, in tiny writes."""

from __future__ import annotations

from typing import Any

from instructor_py import StructuredOutput
from instructor_py.common.modes import OutputMode
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w

API_KEY = "sk-stream-SECRET-0123456789"
FAST_TRANSPORT = TransportRetryPolicy(
    max_retries=2, initial_delay=0.01, max_delay=0.02, jitter=False
)
WIRES = ("openai", "anthropic")
MODES = {
    "openai": (OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON, OutputMode.MD_JSON),
    "anthropic": (OutputMode.TOOLS, OutputMode.JSON, OutputMode.MD_JSON),
}


def client(server: ScriptedServer, wire: str) -> StructuredOutput[Any]:
    base_url = server.url if wire == "anthropic" else server.openai_url
    return (
        StructuredOutput()
        .using(wire, api_key=API_KEY, base_url=base_url, model=w.MODEL)
        .with_transport_retry_policy(FAST_TRANSPORT)
    )


def wrap_text(text: str, mode: OutputMode) -> str:
    """What the model writes in ``mode`` around the JSON ``text``."""
    if mode is OutputMode.MD_JSON:
        return f"Sure! The format is {{name}} etc.\n```json\n{text}\n```\nAnything else?"
    return text


def streamed(
    wire: str,
    mode: OutputMode,
    text: str,
    *,
    piece: int = 3,
    seed: int = 0,
    tool_name: str = "Person",
    cut_after: int | None = None,
    usage: tuple[int, int] = (10, 5),
) -> Reply:
    """An SSE answer carrying ``text`` (the JSON document) in ``piece``-character deltas, written
    to the socket in 1-7 byte pieces (splits inside escapes, \\u sequences, UTF-8 sequences)."""
    if mode is OutputMode.TOOLS:
        if wire == "anthropic":
            events = w.anthropic_stream(
                tool_json=text, tool_name=tool_name, piece=piece, usage=usage
            )
        else:
            events = w.openai_stream(tool_args=text, tool_name=tool_name, piece=piece, usage=usage)
    else:
        body = wrap_text(text, mode)
        if wire == "anthropic":
            events = w.anthropic_stream(body, piece=piece, usage=usage)
        else:
            events = w.openai_stream(body, piece=piece, usage=usage)
    return Reply.sse(events, chunk_sizes=(1, 7), seed=seed, cut_after=cut_after)
