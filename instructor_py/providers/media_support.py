"""Which media each provider takes, checked before any request; URL media downloaded where the
wire needs bytes.

A driver calls :func:`prepare_media` (or :func:`aprepare_media`) with its :class:`MediaSupport`
before it builds its payload: a kind or media type the provider cannot take is an
:class:`~instructor_py.common.errors.UnsupportedMediaError` naming what to do, and a URL the wire
cannot carry (OpenAI's ``input_audio`` and ``file`` parts, Bedrock's blocks) is downloaded once
under the request's :class:`~instructor_py.providers.media_fetch.MediaPolicy` (kept on the media
object, so retries reuse it). A text-only driver calls :func:`refuse_media`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from instructor_py.common.errors import UnsupportedMediaError
from instructor_py.common.media import Media
from instructor_py.providers.base import InferenceRequest, Message
from instructor_py.providers.media_fetch import amaterialize_media, materialize_media

__all__ = [
    "MEDIA_SUPPORT",
    "MediaSupport",
    "aprepare_media",
    "check_media",
    "media_in",
    "media_support",
    "prepare_media",
    "refuse_media",
]

_ANY: frozenset[str] = frozenset()
_KIND_WORD = {"image": "images", "pdf": "PDFs", "audio": "audio"}


@dataclass(frozen=True, slots=True)
class MediaSupport:
    """What one provider takes: ``kinds`` (``"image"``, ``"pdf"``, ``"audio"``), the media types
    per kind (an empty set: any), the kinds its wire takes as a URL (the others are downloaded),
    and what to tell a user whose media it refuses (``instead``)."""

    provider: str
    kinds: frozenset[str]
    media_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    url_kinds: frozenset[str] = frozenset()
    instead: str = ""

    def accepts(self, kind: str) -> bool:
        return kind in self.kinds


def _types(*names: str) -> frozenset[str]:
    return frozenset(names)


_OPENAI_IMAGES = _types("image/png", "image/jpeg", "image/gif", "image/webp")
_OPENAI_AUDIO = _types("audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp3")
_GEMINI_IMAGES = _types("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
_GEMINI_AUDIO = _types("audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp3", "audio/aiff",
                       "audio/aac", "audio/ogg", "audio/flac")
_PDF = _types("application/pdf")
_ALL = frozenset({"image", "pdf", "audio"})
_VISION_INSTEAD = "use 'openai', 'gemini' or 'anthropic' (images and PDFs) for this input"

_openai = MediaSupport(
    "openai", _ALL, {"image": _OPENAI_IMAGES, "audio": _OPENAI_AUDIO, "pdf": _PDF},
    url_kinds=frozenset({"image"}),
    instead="use an audio-capable model (e.g. gpt-4o-audio-preview) for audio",
)
_compatible = replace(_openai, provider="openai-compatible", media_types={})
_images_only = MediaSupport("images-only", frozenset({"image"}), {}, frozenset({"image"}),
                            _VISION_INSTEAD)

MEDIA_SUPPORT: Mapping[str, MediaSupport] = MappingProxyType(
    {
        # sources: OpenAI "Images and vision", "Audio" (input_audio format wav|mp3) and "File
        # inputs" guides; Anthropic "Vision" and "PDF support"; Gemini "Image/Audio/Document
        # understanding"; Bedrock Converse ImageBlock/DocumentBlock.
        "openai": _openai,
        "azure": replace(_openai, provider="azure"),
        "anthropic": MediaSupport(
            "anthropic", frozenset({"image", "pdf"}),
            {"image": _OPENAI_IMAGES, "pdf": _PDF}, frozenset({"image", "pdf"}),
            "Anthropic's API takes no audio: transcribe it first, or use 'openai' "
            "(gpt-4o-audio-preview) or 'gemini' for audio",
        ),
        "gemini": MediaSupport(
            "gemini", _ALL, {"image": _GEMINI_IMAGES, "audio": _GEMINI_AUDIO, "pdf": _PDF},
            frozenset(), "",
        ),
        "vertex": MediaSupport(
            "vertex", _ALL, {"image": _GEMINI_IMAGES, "audio": _GEMINI_AUDIO, "pdf": _PDF},
            frozenset(), "",
        ),
        "bedrock": MediaSupport(
            "bedrock", frozenset({"image", "pdf"}),
            {"image": _OPENAI_IMAGES, "pdf": _PDF}, frozenset(),
            "Bedrock Converse takes images and documents, not audio: transcribe it first, or "
            "use 'openai' or 'gemini' for audio",
        ),
        "local": MediaSupport(
            "local", frozenset(), {}, frozenset(),
            "the embedded model reads text only: describe the media in text, or use a vision "
            "provider ('openai', 'anthropic', 'gemini')",
        ),
        "deepseek": MediaSupport("deepseek", frozenset(), {}, frozenset(),
                                 "DeepSeek's API takes text only; " + _VISION_INSTEAD),
        "ollama": replace(_images_only, provider="ollama"),
        "groq": replace(_images_only, provider="groq"),
        "mistral": replace(_images_only, provider="mistral"),
        "xai": replace(_images_only, provider="xai"),
        "llamacpp-server": replace(_images_only, provider="llamacpp-server"),
        # OpenAI-compatible servers whose models vary: the wire carries any kind, the server decides
        "openai-compatible": _compatible,
    }
)
_DRIVER_FAMILY = {"openai": "openai-compatible", "anthropic": "anthropic"}


def media_support(provider: str, driver: str | None = None) -> MediaSupport:
    """The table entry of a provider (preset) name, else of its driver family (an unknown
    OpenAI-compatible preset takes what the OpenAI wire can carry; the server decides)."""
    found = MEDIA_SUPPORT.get(provider)
    if found is None and driver is not None:
        found = MEDIA_SUPPORT.get(_DRIVER_FAMILY.get(driver, driver))
    if found is None:
        return replace(_compatible, provider=provider)
    return found if found.provider == provider else replace(found, provider=provider)


def media_in(messages: Sequence[Message]) -> Iterator[Media]:
    """Every media object in the messages' content lists, in order."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, list | tuple):
            for part in content:
                if isinstance(part, Media):
                    yield part


def _check_one(media: Media, support: MediaSupport) -> None:
    if not support.accepts(media.kind):
        takes = ", ".join(_KIND_WORD[k] for k in sorted(support.kinds)) or "text only"
        raise UnsupportedMediaError(
            f"provider {support.provider!r} cannot take {_KIND_WORD[media.kind]} "
            f"(it takes {takes}); got {media!r}. " + (support.instead or "")
        )
    allowed = support.media_types.get(media.kind, _ANY)
    if allowed and not media.media_type.endswith("/*") and media.media_type not in allowed:
        raise UnsupportedMediaError(
            f"provider {support.provider!r} takes {media.kind} as "
            f"{', '.join(sorted(allowed))}, not {media.media_type} ({media!r}); convert it "
            "(e.g. with ffmpeg or Pillow) or pass another media_type if it was mislabelled"
        )


def check_media(messages: Sequence[Message], support: MediaSupport) -> None:
    """An :class:`UnsupportedMediaError` for the first media the provider cannot take."""
    for media in media_in(messages):
        _check_one(media, support)


def refuse_media(messages: Sequence[Message], provider: str = "local") -> None:
    """For text-only drivers: an :class:`UnsupportedMediaError` if any message holds media."""
    check_media(messages, MEDIA_SUPPORT.get(provider) or replace(MEDIA_SUPPORT["local"],
                                                                 provider=provider))


def _needs_bytes(media: Media, support: MediaSupport) -> bool:
    return media.data is None and media.kind not in support.url_kinds


def _with_parts(request: InferenceRequest, fetched: Mapping[int, Media]) -> InferenceRequest:
    messages: list[Message] = []
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list | tuple) and any(id(p) in fetched for p in content):
            parts: list[Any] = [fetched.get(id(p), p) for p in content]
            messages.append({**message, "content": parts})
        else:
            messages.append(message)
    return replace(request, messages=tuple(messages))


def prepare_media(request: InferenceRequest, support: MediaSupport) -> InferenceRequest:
    """``request`` checked against ``support``, with URL media the wire cannot carry replaced by
    their downloaded bytes (once per media object; retries reuse them)."""
    check_media(request.messages, support)
    fetched: dict[int, Media] = {}
    for media in media_in(request.messages):
        if _needs_bytes(media, support):
            fetched[id(media)] = materialize_media(media, request.media_policy)
            _check_one(fetched[id(media)], support)
    return _with_parts(request, fetched) if fetched else request


async def aprepare_media(request: InferenceRequest, support: MediaSupport) -> InferenceRequest:
    """:func:`prepare_media` with the downloads off the event loop."""
    check_media(request.messages, support)
    fetched: dict[int, Media] = {}
    for media in media_in(request.messages):
        if _needs_bytes(media, support):
            fetched[id(media)] = await amaterialize_media(media, request.media_policy)
            _check_one(fetched[id(media)], support)
    return _with_parts(request, fetched) if fetched else request
