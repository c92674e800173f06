"""The response cache protocol: what ``with_cache(...)`` accepts besides ``"memory"`` and a file
path. Keys are hex digests (:mod:`instructor_py.run.cache.key`); values are :class:`CacheEntry`.

A cache raises :class:`~instructor_py.common.errors.CacheError` when its storage fails (a corrupt
or locked file); the call that asked then bypasses the cache (a warning and a
``CacheUnavailable`` event), it never fails because of it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from instructor_py.run.cache.entry import CacheEntry

__all__ = ["ResponseCache"]


@runtime_checkable
class ResponseCache(Protocol):
    @property
    def name(self) -> str:
        """A short description for events and reprs (``"memory"``, ``"sqlite:/path"``)."""
        ...

    def get(self, key: str) -> CacheEntry | None:
        """The entry stored under ``key`` (``None`` if absent or expired)."""
        ...

    def set(self, key: str, entry: CacheEntry) -> None:
        """Store ``entry`` under ``key`` (replacing any), then enforce the cache's bounds."""
        ...

    def clear(self) -> None:
        """Remove every entry."""
        ...
