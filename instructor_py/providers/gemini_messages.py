"""OpenAI-format messages to Gemini's ``(systemInstruction, contents)``.

- system / developer messages join the system instruction;
- user turns become ``{"role": "user", "parts": [...]}``; assistant turns ``role: "model"``;
- an assistant ``tool_calls`` entry becomes a ``functionCall`` part (``args`` parsed from the
  JSON arguments); a ``tool`` message a ``functionResponse`` part (named after the call it
  answers) in a user turn;
- consecutive turns of the same role are merged (Gemini wants them alternating);
- media: :class:`~instructor_py.common.media.Image` / ``PDF`` / ``Audio`` objects with bytes
  become ``inlineData {mimeType, data}`` (base64), URL-only ones ``fileData {mimeType, fileUri}``
  (the driver downloads the URLs its API cannot fetch before we get here); OpenAI-style
  ``image_url`` parts likewise; parts that are already Gemini-native (``inlineData``,
  ``fileData``, ``inline_data``...) pass as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from instructor_py.common.errors import ConfigurationError, UnsupportedMediaError
from instructor_py.common.media import Media
from instructor_py.providers.base import Message

THOUGHT_SIGNATURE_SKIP = "skip_thought_signature_validator"
"""Sent as the ``thoughtSignature`` of a replayed ``functionCall`` part whose signature we do not
keep (the retry feedback rebuilds the model's turn from its tool call): the value Google documents
for conversation turns that did not come from this model session, accepted by Gemini 3 models,
which otherwise reject a function call turn without its signature."""

_NATIVE_KEYS = frozenset(
    {"text", "inlineData", "inline_data", "fileData", "file_data", "functionCall",
     "functionResponse", "executableCode", "codeExecutionResult"}
)  # fmt: skip
_MIME_BY_SUFFIX = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
    ".gif": "image/gif", ".heic": "image/heic", ".pdf": "application/pdf", ".mp3": "audio/mp3",
    ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
}  # fmt: skip


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and "text" in p
        )
    return str(content)


def guess_mime(uri: str, default: str = "image/jpeg") -> str:
    path = uri.split("?", 1)[0].lower()
    for suffix, mime in _MIME_BY_SUFFIX.items():
        if path.endswith(suffix):
            return mime
    return default


def _image_part(part: Mapping[str, Any]) -> dict[str, Any]:
    spec = part.get("image_url")
    url = str(spec.get("url", "") if isinstance(spec, Mapping) else spec or "")
    if url.startswith("data:") and ";base64," in url:
        header, data = url[5:].split(";base64,", 1)
        return {"inlineData": {"mimeType": header, "data": data}}
    return {"fileData": {"mimeType": guess_mime(url), "fileUri": url}}


def media_part(media: Media) -> dict[str, Any]:
    """One media object as a Gemini part ("Image understanding", "Document understanding",
    "Audio understanding": ``inlineData`` with base64 bytes, or ``fileData`` with a URI)."""
    if media.data is not None:
        return {"inlineData": {"mimeType": media.media_type, "data": media.base64()}}
    uri = str(media.url)
    mime = media.media_type
    if mime.endswith("/*"):
        mime = guess_mime(uri, "")
        if not mime:
            raise UnsupportedMediaError(
                f"Gemini needs the media type of a file URI ({media!r}); pass it: "
                f"{type(media).__name__}.from_url(url, media_type='...')"
            )
    return {"fileData": {"mimeType": mime, "fileUri": uri}}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            if part:
                parts.append({"text": part})
            continue
        if isinstance(part, Media):
            parts.append(media_part(part))
            continue
        if not isinstance(part, Mapping):
            raise ConfigurationError(
                "A message part for Gemini must be a str, an Image / PDF / Audio or a dict, got "
                f"{type(part).__name__}"
            )
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                parts.append({"text": str(part["text"])})
        elif kind == "image_url":
            parts.append(_image_part(part))
        elif kind is None and _NATIVE_KEYS & part.keys():
            parts.append(dict(part))  # a Gemini-native part
        else:
            raise ConfigurationError(
                f"Gemini cannot take a message part of type {kind!r}; use text, image_url, "
                "instructor_py Image/PDF/Audio objects, or a Gemini-native part (inlineData, "
                "fileData)."
            )
    return parts


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return {"raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def convert_messages(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text(message.get("content"))
            if text:
                system.append(text)
            continue
        if role == "tool":
            call_id = str(message.get("tool_call_id", ""))
            gemini_role = "user"
            parts: list[dict[str, Any]] = [
                {
                    "functionResponse": {
                        "name": call_names.get(call_id, str(message.get("name") or "response")),
                        "response": {"content": _text(message.get("content"))},
                    }
                }
            ]
        elif role == "assistant":
            gemini_role = "model"
            parts = _parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                name = str(function.get("name", ""))
                call_names[str(call.get("id", ""))] = name
                parts.append(
                    {
                        "functionCall": {
                            "name": name,
                            "args": _arguments(str(function.get("arguments") or "")),
                        },
                        "thoughtSignature": THOUGHT_SIGNATURE_SKIP,
                    }
                )
        elif role == "user":
            gemini_role = "user"
            parts = _parts(message.get("content"))
        else:
            raise ConfigurationError(
                f"Message role {role!r} is not one of system, user, assistant, tool."
            )
        if not parts:
            continue
        if out and out[-1]["role"] == gemini_role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": gemini_role, "parts": parts})
    return ("\n\n".join(system) or None), out
