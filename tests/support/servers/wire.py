"""Builders of OpenAI chat-completions and Anthropic Messages payloads (JSON bodies and SSE event
lists) for :class:`tests.support.servers.scripted.ScriptedServer` scripts."""

from __future__ import annotations

import json
from typing import Any

from tests.support.servers.scripted import SSEItem

MODEL = "test-model"


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def openai_chat(
    content: str | None = None,
    *,
    tool_args: str | None = None,
    tool_name: str = "response",
    usage: tuple[int, int] = (10, 5),
    finish: str | None = None,
    model: str = MODEL,
) -> dict[str, Any]:
    """A ``chat.completion`` body answering ``content`` or a tool call with ``tool_args``."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_args is not None:
        message["tool_calls"] = [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": tool_name, "arguments": tool_args},
            }
        ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish or ("tool_calls" if tool_args is not None else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def openai_stream(
    content: str | None = None,
    *,
    tool_args: str | None = None,
    tool_name: str = "response",
    piece: int = 3,
    usage: tuple[int, int] | None = (10, 5),
    finish: bool | str = True,
    done: bool = True,
    model: str = MODEL,
) -> list[SSEItem]:
    """SSE events of a streamed completion, the text in ``piece``-character deltas (``finish``:
    a finish reason, or ``True`` for the usual one)."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

    events: list[SSEItem] = [chunk({"role": "assistant", "content": ""})]
    if tool_args is not None:
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_abc123",
                            "type": "function",
                            "function": {"name": tool_name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for part in _split(tool_args, piece):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
    if content is not None:
        events.extend(chunk({"content": part}) for part in _split(content, piece))
    if finish:
        reason = finish if isinstance(finish, str) else "tool_calls" if tool_args is not None else "stop"
        events.append(chunk({}, reason))
    if usage is not None and finish:
        events.append(
            {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": sum(usage),
                },
            }
        )
    if done:
        events.append("[DONE]")
    return events


def anthropic_message(
    text: str | None = None,
    *,
    tool_input: Any = None,
    tool_name: str = "response",
    usage: tuple[int, int] = (10, 5),
    model: str = MODEL,
) -> dict[str, Any]:
    """A Messages API body answering ``text`` or a ``tool_use`` block with ``tool_input``."""
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if tool_input is not None:
        content.append(
            {"type": "tool_use", "id": "toolu_01", "name": tool_name, "input": tool_input}
        )
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if tool_input is not None else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def anthropic_stream(
    text: str | None = None,
    *,
    tool_json: str | None = None,
    tool_name: str = "response",
    piece: int = 3,
    usage: tuple[int, int] = (10, 5),
    finish: bool | str = True,
    model: str = MODEL,
) -> list[SSEItem]:
    """SSE events of a streamed message: text deltas or ``input_json_delta`` pieces (``finish``:
    a stop reason, or ``True`` for the usual one)."""
    events: list[SSEItem] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_01",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": usage[0], "output_tokens": 1},
                },
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    if text is not None:
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            )
        )
        for part in _split(text, piece):
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if tool_json is not None:
        index = 1 if text is not None else 0
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": "toolu_01", "name": tool_name, "input": {}},
                },
            )
        )
        for part in _split(tool_json, piece):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    if finish:
        reason = finish if isinstance(finish, str) else "tool_use" if tool_json is not None else "end_turn"
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": None},
                    "usage": {"output_tokens": usage[1]},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
    return events


def stream_of(body: Any, *, piece: int = 8) -> list[SSEItem] | None:
    """The SSE events a server streams for the same answer as the JSON ``body`` (an OpenAI
    ``chat.completion`` or an Anthropic ``message``; ``None`` for any other body), the text in
    ``piece``-character deltas (about two tokens)."""
    if not isinstance(body, dict):
        return None
    if body.get("object") == "chat.completion" and body.get("choices"):
        choice = body["choices"][0]
        message = choice.get("message") or {}
        call = (message.get("tool_calls") or [None])[0]
        usage = body.get("usage") or {}
        return openai_stream(
            message.get("content"),
            tool_args=call["function"]["arguments"] if call else None,
            tool_name=call["function"]["name"] if call else "response",
            piece=piece,
            usage=(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            finish=choice.get("finish_reason") or True,
            model=body.get("model", MODEL),
        )
    if body.get("type") == "message":
        blocks = body.get("content") or []
        texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
        tools = [b for b in blocks if b.get("type") == "tool_use"]
        usage = body.get("usage") or {}
        return anthropic_stream(
            "".join(texts) if texts else None,
            tool_json=json.dumps(tools[0].get("input", {}), ensure_ascii=False) if tools else None,
            tool_name=tools[0].get("name", "response") if tools else "response",
            piece=piece,
            usage=(usage.get("input_tokens", 0), usage.get("output_tokens", 0)),
            finish=body.get("stop_reason") or True,
            model=body.get("model", MODEL),
        )
    return None


def tool_args_of(obj: Any) -> str:
    return json.dumps(obj)
