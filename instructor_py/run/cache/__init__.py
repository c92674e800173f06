"""The response cache (``StructuredOutput().with_cache(...)``, ``instructor-py extract --cache``):
an in-memory LRU (:class:`MemoryCache`) or a SQLite file (:class:`SqliteCache`), keyed by
everything that changes the answer (:mod:`instructor_py.run.cache.key`). See ``docs/cost.md``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.run.cache.entry import CacheEntry
from instructor_py.run.cache.memory import MemoryCache
from instructor_py.run.cache.sqlite_store import SqliteCache
from instructor_py.run.cache.store import ResponseCache

__all__ = ["CacheEntry", "MemoryCache", "ResponseCache", "SqliteCache", "to_cache"]


def to_cache(value: Any) -> ResponseCache:
    """``"memory"`` -> a new :class:`MemoryCache`; a path (str or ``os.PathLike``) -> the
    :class:`SqliteCache` on it (one per resolved path in a process, so its connections are
    shared); a :class:`ResponseCache` -> itself."""
    if isinstance(value, str) and value == "memory":
        return MemoryCache()
    if isinstance(value, str | os.PathLike) and str(value):
        path = Path(value).expanduser().resolve()
        with _lock:
            cache = _files.get(path)
            if cache is None:
                cache = _files[path] = SqliteCache(path)
            return cache
    if isinstance(value, ResponseCache) and not isinstance(value, str):
        return value
    raise InvalidArgumentError(
        f"with_cache() takes 'memory', a file path (a SQLite cache), MemoryCache(...), "
        f"SqliteCache(...) or any ResponseCache (name, get, set, clear); got {value!r}"
    )


_files: dict[Path, SqliteCache] = {}
_lock = threading.Lock()
