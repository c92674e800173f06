"""Cache keys: a SHA-256 of a canonical JSON form of everything that changes the answer.

:func:`canonical` turns a value into JSON-able data in one deterministic way: mappings with
sorted keys, tuples as lists, bytes by their SHA-256, media (any object with a ``sha256``
attribute: ``Image``/``PDF``/``Audio`` of :mod:`instructor_py.common.media`) by their kind, media
type and content hash (never their bytes), pydantic models by ``model_dump``, dataclasses field
by field, enums by value, types by qualified name. Anything else is :class:`Uncacheable` (a call
whose key cannot be computed is not cached, rather than cached under an unstable key)."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["KEY_VERSION", "Uncacheable", "canonical", "digest"]

KEY_VERSION = "instructor_py.run.cache/1"


class Uncacheable(Exception):
    """A part of the call has no canonical form (e.g. an arbitrary object in a message)."""


def _encode(value: Any) -> str:
    """The canonical JSON text of ``value``: JSON's own types as they are (object keys sorted),
    everything else through :func:`_tagged`, one level at a time."""
    try:
        return json.dumps(
            value, default=_tagged, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as error:  # mixed key types, circular data
        raise Uncacheable(f"no canonical form for the cache key ({error})") from None


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data, as the key sees it (for tests and debugging)."""
    return json.loads(_encode(value))


def _tagged(value: Any) -> Any:
    """A value JSON has no type for, as JSON-able data (called by :func:`json.dumps`)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, frozenset | set):
        return sorted(value, key=_encode)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": hashlib.sha256(bytes(value)).hexdigest()}
    media = _media(value)
    if media is not None:
        return media
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, type):
        return {"$type": f"{value.__module__}.{value.__qualname__}"}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return {"$model": _qualname(value), "data": dump(mode="json")}
    if dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
        return {"$dataclass": _qualname(value), "fields": fields}
    raise Uncacheable(f"{type(value).__name__} has no canonical form for the cache key")


def _media(value: Any) -> dict[str, Any] | None:
    try:
        sha = getattr(value, "sha256", None)
    except Exception:  # a URL-only medium that cannot hash its bytes
        sha = None
    if isinstance(sha, str) and sha:
        return {
            "$media": str(getattr(value, "kind", type(value).__name__)),
            "media_type": str(getattr(value, "media_type", "")),
            "sha256": sha,
        }
    url = getattr(value, "url", None)
    if isinstance(url, str) and hasattr(value, "media_type"):
        return {"$media": str(getattr(value, "kind", type(value).__name__)), "url": url}
    return None


def _qualname(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def digest(parts: Mapping[str, Any]) -> str:
    """The hex SHA-256 of ``parts``' canonical JSON (raises :class:`Uncacheable`)."""
    text = _encode({"version": KEY_VERSION, "parts": parts})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
