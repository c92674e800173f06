"""``with_cache("memory")``: an in-process LRU of validated answers (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.run.cache.entry import CacheEntry

__all__ = ["MemoryCache"]


class MemoryCache:
    """At most ``max_entries`` entries (the least recently used go first), each for at most
    ``max_age`` seconds (``None``: no age limit). ``clock`` (seconds) is for tests."""

    def __init__(
        self,
        max_entries: int = 1024,
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidArgumentError(
                f"MemoryCache max_entries must be an int >= 1, got {max_entries!r}"
            )
        if max_age is not None and (isinstance(max_age, bool) or not max_age > 0):
            raise InvalidArgumentError(
                f"MemoryCache max_age must be seconds > 0 or None, got {max_age!r}"
            )
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "memory"

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self.max_age is not None and self._clock() - entry.created_at > self.max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: CacheEntry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"MemoryCache(max_entries={self.max_entries}, max_age={self.max_age}, entries={len(self)})"
