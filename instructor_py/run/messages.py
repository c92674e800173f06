"""Normalising what callers pass as ``messages`` and ``examples`` into OpenAI-format dicts.

The caller's objects are never mutated: every message dict is copied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.common.media import Media
from instructor_py.pipeline.stages import to_plain
from instructor_py.providers.base import Message

_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def normalize_messages(messages: Any, *, argument: str = "messages") -> tuple[Message, ...]:
    """A string, one message dict, or a list/tuple of message dicts -> a tuple of fresh dicts.

    A list whose items are strings, media (:class:`~instructor_py.common.media.Image`, ``PDF``,
    ``Audio``) or content-part dicts (``{"type": ...}``, no ``role``) is the content of one user
    message: ``["Describe this", Image.from_path("cat.png")]``. A single media object is one user
    message holding it."""
    if isinstance(messages, str):
        return ({"role": "user", "content": messages},)
    if isinstance(messages, Media):
        return ({"role": "user", "content": [messages]},)
    if isinstance(messages, Mapping):
        return (_message(messages, argument),)
    if isinstance(messages, list | tuple):
        if messages and not all(_is_message(m) for m in messages):
            return (_shortcut(messages, argument),)
        return tuple(_message(m, f"{argument}[{i}]") for i, m in enumerate(messages))
    raise InvalidArgumentError(
        f"{argument} must be a str, a message dict, a list of message dicts "
        f"(e.g. {{'role': 'user', 'content': '...'}}) or a list of content parts (str, Image, "
        f"PDF, Audio), got {type(messages).__name__}"
    )


def _is_message(item: Any) -> bool:
    return isinstance(item, Mapping) and "role" in item


def _shortcut(items: list[Any] | tuple[Any, ...], argument: str) -> Message:
    """``["text", Image(...)]``: one user message whose content is these parts."""
    for i, item in enumerate(items):
        if _is_message(item):
            raise InvalidArgumentError(
                f"{argument} mixes message dicts ({argument}[{i}] has a 'role') with content "
                "parts (str, Image, PDF, Audio); either pass a list of message dicts, putting the "
                "parts in a message's 'content', or a list of parts only (one user message)"
            )
    return {"role": "user", "content": _content_parts(items, argument)}


def _content_parts(items: list[Any] | tuple[Any, ...], where: str) -> list[Any]:
    parts: list[Any] = []
    for i, item in enumerate(items):
        if isinstance(item, str | Media):
            parts.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("type"), str):
            parts.append(dict(item))
        else:
            raise InvalidArgumentError(
                f"{where}[{i}] must be a str, an Image, PDF or Audio, or a content-part dict "
                f"with a 'type' (e.g. {{'type': 'text', 'text': '...'}}), got "
                f"{type(item).__name__}"
            )
    return parts


def _message(message: Any, where: str) -> Message:
    if not isinstance(message, Mapping):
        raise InvalidArgumentError(
            f"{where} must be a message dict like {{'role': 'user', 'content': '...'}}, "
            f"got {type(message).__name__}"
        )
    role = message.get("role")
    if role not in _ROLES:
        raise InvalidArgumentError(
            f"{where} needs a 'role' of {sorted(_ROLES)}, got {role!r}"
        )
    if "content" not in message and "tool_calls" not in message:
        raise InvalidArgumentError(
            f"{where} needs a 'content' (the message text), e.g. {{'role': {role!r}, "
            "'content': '...'}"
        )
    out = dict(message)
    content = out.get("content")
    if isinstance(content, Media):
        content = [content]
    if isinstance(content, list | tuple):
        out["content"] = _content_parts(content, f"{where}['content']")
        if role != "user" and any(isinstance(p, Media) for p in out["content"]):
            raise InvalidArgumentError(
                f"{where}: images, PDFs and audio go in 'user' messages, not {role!r} ones"
            )
    return out


@dataclass(frozen=True, slots=True)
class Example:
    """A worked example shown to the model before the conversation: ``input`` text and the
    ``output`` it should produce (a model instance, dict or JSON text)."""

    input: str
    output: Any

    def output_json(self) -> str:
        out = self.output
        if isinstance(out, str):
            return out
        if isinstance(out, BaseModel):
            return out.model_dump_json()
        return json.dumps(to_plain(out), ensure_ascii=False, default=str)


def normalize_examples(examples: Any) -> tuple[Example, ...]:
    """Examples as :class:`Example`, ``{"input": ..., "output": ...}`` dicts or (input, output)
    pairs."""
    if isinstance(examples, Example | Mapping):
        examples = [examples]
    if not isinstance(examples, list | tuple):
        raise InvalidArgumentError(
            "examples must be a list of Example(input, output), {'input': ..., 'output': ...} "
            f"dicts or (input, output) pairs, got {type(examples).__name__}"
        )
    out: list[Example] = []
    for i, ex in enumerate(examples):
        if isinstance(ex, Example):
            out.append(ex)
        elif isinstance(ex, Mapping) and "input" in ex and "output" in ex:
            out.append(Example(str(ex["input"]), ex["output"]))
        elif isinstance(ex, tuple) and len(ex) == 2:
            out.append(Example(str(ex[0]), ex[1]))
        else:
            raise InvalidArgumentError(
                f"examples[{i}] must be Example(input, output), a dict with 'input' and 'output' "
                f"or an (input, output) pair, got {type(ex).__name__}"
            )
    return tuple(out)
