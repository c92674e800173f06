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

KEY_VERSION = "instructor_py.cache/1"


class Uncacheable(Exception):
    """A part of the call has no canonical form (e.g. an arbitrary object in a message)."""


def canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else "NaN"
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": hashlib.sha256(bytes(value)).hexdigest()}
    media = _media(value)
    if media is not None:
        return media
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, type):
        return {"$type": f"{value.__module__}.{value.__qualname__}"}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return {"$model": _qualname(value), "data": canonical(dump(mode="json"))}
    if dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
        return {"$dataclass": _qualname(value), "fields": canonical(fields)}
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
    text = json.dumps(
        {"version": KEY_VERSION, **canonical(parts)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
