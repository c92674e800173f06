"""Images, PDFs and audio clips as message content.

``Image``, ``PDF`` and ``Audio`` are frozen records holding either the bytes (``data``) or a URL
(``url``), and the media type. A message's ``content`` may mix them with text::

    messages = [{"role": "user", "content": ["What is in this picture?", Image.from_path("cat.png")]}]
    messages = ["Describe this", Image.from_path("cat.png")]          # one user message, shortcut

Each driver writes them in its own wire format. The media type is read from the first bytes (magic
numbers) unless given. The bytes never appear in ``repr``, events, logs or errors: those show the
kind, media type, size and a SHA-256 prefix. ``base64()`` and ``sha256`` are computed once and kept
on the object, so a retry resends the same parts without reading or encoding them again.
"""

from __future__ import annotations

import base64 as b64
import binascii
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import unquote_to_bytes, urlsplit

from instructor_py.common.errors import MediaError

__all__ = ["PDF", "Audio", "Image", "Media", "detect_media_type", "media_summary"]

# (offset, magic bytes, media type); checked in order. Sources: the formats' own specifications
# (PNG signature, JFIF/EXIF SOI marker, GIF87a/89a, RIFF WEBP/WAVE, %PDF-, fLaC, OggS, ID3/MPEG
# frame sync, ISO BMFF 'ftyp' brands).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"#!AMR", "audio/amr"),
)
_FTYP_BRANDS: dict[bytes, str] = {
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
}
_KINDS: dict[str, str] = {"image": "an image", "pdf": "a PDF", "audio": "an audio clip"}
_CLASS_OF_KIND: dict[str, str] = {"image": "Image", "pdf": "PDF", "audio": "Audio"}
_DATA_URL = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*?),(?P<data>.*)$", re.S)


def detect_media_type(data: bytes) -> str | None:
    """The media type the first bytes announce (``"image/png"``, ``"application/pdf"``,
    ``"audio/wav"``...), or ``None`` when they match no known format."""
    for offset, magic, media_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and len(data) >= 12:
        if data[8:12] == b"WEBP":
            return "image/webp"
        if data[8:12] == b"WAVE":
            return "audio/wav"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if data[4:8] == b"ftyp" and len(data) >= 12:
        brand = _FTYP_BRANDS.get(data[8:12])
        if brand is not None:
            return brand
        # an MP4 container without an M4A brand: audio only if no video brand claims it
        if data[8:12] in (b"isom", b"mp42", b"mp41", b"dash"):
            return "audio/mp4"
    if len(data) >= 2 and data[0] == 0xFF:
        if data[1] & 0xF6 == 0xF0:  # ADTS AAC: 12-bit sync, layer bits 00
            return "audio/aac"
        if data[1] & 0xE0 == 0xE0:  # MPEG audio frame sync (MP3)
            return "audio/mpeg"
    return None


def _kind_of(media_type: str) -> str | None:
    if media_type == "application/pdf":
        return "pdf"
    major = media_type.split("/", 1)[0]
    return major if major in ("image", "audio") else None


def _short_hash(digest: str) -> str:
    return digest[:12]


def _url_for_display(url: str) -> str:
    """The URL without its query and fragment (presigned URLs carry credentials there)."""
    if url.startswith("data:"):
        return "data:..."
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    return shown + ("?..." if parts.query else "")


@dataclass(frozen=True, eq=True)
class Media:
    """Common base of :class:`Image`, :class:`PDF` and :class:`Audio`.

    Exactly one of ``data`` (the bytes) and ``url`` is set. ``media_type`` is the IANA type
    (``"image/png"``); for a URL whose type cannot be told from its extension it is the kind's
    wildcard (``"image/*"``) until the bytes are downloaded. ``filename`` is sent where an API wants
    one (OpenAI's ``file`` part for PDFs).
    """

    kind: ClassVar[str] = "media"
    media_type: str
    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    filename: str | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.kind not in _KINDS:
            raise MediaError("use Image, PDF or Audio (Media is their common base)")
        if (self.data is None) == (self.url is None):
            raise MediaError(f"{name} needs exactly one of data (bytes) or url; use {name}."
                             "from_path / from_bytes / from_base64 / from_url")
        if self.data is not None:
            if not isinstance(self.data, bytes):
                raise MediaError(f"{name}.data must be bytes, got {type(self.data).__name__}")
            if not self.data:
                raise MediaError(f"{name} has no data (0 bytes): check the file or the bytes "
                                 "you passed")
        if self.url is not None and not isinstance(self.url, str):
            raise MediaError(f"{name}.url must be a str, got {type(self.url).__name__}")
        kind = _kind_of(self.media_type) if isinstance(self.media_type, str) else None
        if kind != self.kind:
            raise MediaError(
                f"{name} got media type {self.media_type!r}, which is not {_KINDS[self.kind]}"
                + (f"; use {_CLASS_OF_KIND[kind]}.from_... for it" if kind in _CLASS_OF_KIND
                   else f"; pass the right media_type (e.g. {_EXAMPLE_TYPE[self.kind]!r})")
            )

    # --- constructors -------------------------------------------------------------------------

    @classmethod
    def from_bytes(
        cls, data: bytes, media_type: str | None = None, *, filename: str | None = None
    ) -> Self:
        """Media from raw bytes; the media type is read from the bytes unless given."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MediaError(f"{cls.__name__}.from_bytes takes bytes, got {type(data).__name__}")
        raw = bytes(data)
        if not raw:
            raise MediaError(f"{cls.__name__}.from_bytes got 0 bytes: nothing to send")
        return cls(media_type=cls._resolve_type(raw, media_type), data=raw, filename=filename)

    @classmethod
    def from_path(cls, path: str | Path, media_type: str | None = None) -> Self:
        """Media read from a file (read once, now); the type is read from its first bytes."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise MediaError(f"{cls.__name__}.from_path: no such file {str(p)!r}") from None
        except IsADirectoryError:
            raise MediaError(f"{cls.__name__}.from_path: {str(p)!r} is a directory; "
                             "pass a file") from None
        except OSError as exc:
            raise MediaError(f"{cls.__name__}.from_path: cannot read {str(p)!r} "
                             f"({exc.strerror or type(exc).__name__})") from None
        if not raw:
            raise MediaError(f"{cls.__name__}.from_path: {str(p)!r} is empty (0 bytes)")
        return cls(media_type=cls._resolve_type(raw, media_type, where=str(p)), data=raw,
                   filename=p.name)

    @classmethod
    def from_base64(
        cls, data: str | bytes, media_type: str | None = None, *, filename: str | None = None
    ) -> Self:
        """Media from base64 text (or a ``data:`` URL); the type is read from the decoded bytes
        unless given. The text is kept, so sending it never encodes it again."""
        text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
        if not isinstance(text, str):
            raise MediaError(f"{cls.__name__}.from_base64 takes a str, got {type(data).__name__}")
        text = text.strip()
        if text.startswith("data:"):
            return cls.from_url(text, media_type)
        text = "".join(text.split())
        try:
            raw = b64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MediaError(f"{cls.__name__}.from_base64: the text is not valid base64 "
                             f"({len(text)} characters)") from None
        if not raw:
            raise MediaError(f"{cls.__name__}.from_base64 got no data (empty text)")
        media = cls(media_type=cls._resolve_type(raw, media_type), data=raw, filename=filename)
        media.__dict__["_b64"] = b64.b64encode(raw).decode("ascii") if len(text) % 4 else text
        return media

    @classmethod
    def from_url(cls, url: str, media_type: str | None = None) -> Self:
        """Media at a URL (``https://...``), passed to the API as a URL where it takes one and
        downloaded (size cap, timeout, SSRF guard) where it needs bytes. A ``data:`` URL is decoded
        here."""
        if not isinstance(url, str) or not url.strip():
            raise MediaError(f"{cls.__name__}.from_url takes a non-empty URL string")
        url = url.strip()
        if url.startswith("data:"):
            return cls._from_data_url(url, media_type)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MediaError(
                f"{cls.__name__}.from_url needs an http(s) URL with a host, got "
                f"{_url_for_display(url)!r}; for a local file use {cls.__name__}.from_path"
            )
        if media_type is None:
            guessed, _ = mimetypes.guess_type(parts.path)
            if guessed == "audio/x-wav":
                guessed = "audio/wav"
            media_type = guessed if guessed and _kind_of(guessed) == cls.kind else None
        name = parts.path.rsplit("/", 1)[-1] or None
        return cls(media_type=media_type or _WILDCARD[cls.kind], url=url, filename=name)

    @classmethod
    def _from_data_url(cls, url: str, media_type: str | None) -> Self:
        m = _DATA_URL.match(url)
        if m is None:
            raise MediaError(f"{cls.__name__}: malformed data: URL (expected "
                             "data:<type>;base64,<data>)")
        declared = m.group("type") or None
        payload = m.group("data")
        if ";base64" in m.group("params"):
            return cls.from_base64(payload, media_type or declared)
        raw = unquote_to_bytes(payload)
        return cls.from_bytes(raw, media_type or declared)

    @classmethod
    def _resolve_type(cls, raw: bytes, given: str | None, *, where: str = "the data") -> str:
        if given:
            return given.lower()
        detected = detect_media_type(raw)
        if detected is None:
            raise MediaError(
                f"{cls.__name__}: cannot tell the media type of {where} from its first bytes "
                f"({len(raw)} bytes, sha256 {_short_hash(hashlib.sha256(raw).hexdigest())}); "
                f"pass media_type=... (e.g. {_EXAMPLE_TYPE[cls.kind]!r})"
            )
        kind = _kind_of(detected)
        if kind != cls.kind:
            raise MediaError(
                f"{cls.__name__}: {where} is {detected} ({_KINDS.get(kind or '', 'not media')}), "
                f"not {_KINDS[cls.kind]}; use {_CLASS_OF_KIND.get(kind or '', cls.__name__)}"
                ".from_... for it"
            )
        return detected

    # --- derived values (computed once) ------------------------------------------------------

    def base64(self) -> str:
        """The bytes as base64 text, encoded once and kept. Media given only as a URL has no bytes
        here: download them with ``providers.media_fetch.fetch_media_bytes``."""
        cached = self.__dict__.get("_b64")
        if cached is None:
            cached = b64.b64encode(self._bytes()).decode("ascii")
            self.__dict__["_b64"] = cached
        return str(cached)

    def data_url(self) -> str:
        """``data:<media type>;base64,<data>`` (cached base64)."""
        return f"data:{self.media_type};base64,{self.base64()}"

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes (of the URL text for URL-only media)."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return hashlib.sha256((self.url or "").encode()).hexdigest()

    @property
    def size(self) -> int | None:
        """Number of bytes, or ``None`` for URL-only media."""
        return len(self.data) if self.data is not None else None

    @property
    def format(self) -> str:
        """The short format name (``"png"``, ``"wav"``, ``"mp3"``, ``"pdf"``)."""
        sub = self.media_type.split("/", 1)[-1]
        return _FORMAT_NAMES.get(sub, sub)

    def summary(self) -> str:
        """What logs, events and errors show: kind, media type, size or URL, hash prefix."""
        return media_summary(self)

    def _bytes(self) -> bytes:
        if self.data is None:
            raise MediaError(
                f"{self.summary()} is a URL; its bytes must be downloaded first "
                "(the driver does this with the media policy's size cap and SSRF guard)"
            )
        return self.data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self) -> str:
        if self.data is not None:
            return (f"{self.media_type}, {len(self.data)} bytes, "
                    f"sha256={_short_hash(self.sha256)}")
        return f"{self.media_type}, url={_url_for_display(self.url or '')!r}"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:  # keep caches out of pickles
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")
                and k != "sha256"}


_WILDCARD = {"image": "image/*", "audio": "audio/*", "pdf": "application/pdf"}
_EXAMPLE_TYPE = {"image": "image/png", "audio": "audio/wav", "pdf": "application/pdf"}
_FORMAT_NAMES = {"mpeg": "mp3", "x-wav": "wav", "wave": "wav", "jpeg": "jpeg", "mp4": "m4a",
                 "x-m4a": "m4a", "x-flac": "flac", "*": "unknown"}


@dataclass(frozen=True, eq=True, repr=False)
class Image(Media):
    """An image (PNG, JPEG, GIF, WEBP, HEIC...)."""

    kind: ClassVar[str] = "image"


@dataclass(frozen=True, eq=True, repr=False)
class PDF(Media):
    """A PDF document."""

    kind: ClassVar[str] = "pdf"


@dataclass(frozen=True, eq=True, repr=False)
class Audio(Media):
    """An audio clip (WAV, MP3, FLAC, OGG, M4A, AAC...)."""

    kind: ClassVar[str] = "audio"


def media_summary(media: Media) -> str:
    """``"Image(image/png, 1234 bytes, sha256=ab12cd34ef56)"``: never the bytes."""
    return repr(media)
