"""``with_cache("path/to/cache.sqlite")``: validated answers in a SQLite file (stdlib
:mod:`sqlite3`, WAL), shared by the threads and processes that open the same file.

- Reads never write: a hit needs no lock and works while another process writes (WAL).
- Bounds, enforced after every write: ``max_entries``, ``max_bytes`` (the entries' encoded size)
  and ``max_age`` (seconds; an older entry is a miss and is deleted by the next write). The oldest
  entries go first.
- Storage failures (a file that is not a database, a lock held longer than ``timeout`` seconds, a
  full disk) raise :class:`~instructor_py.common.errors.CacheError`; a call then bypasses the cache.
  The file is never deleted or rewritten because of an error.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from instructor_py.common.errors import CacheError, InvalidArgumentError
from instructor_py.common.sqlite import ThreadConnections
from instructor_py.run.cache.entry import CacheEntry

__all__ = ["SqliteCache"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS responses ("
    " key TEXT PRIMARY KEY, created_at REAL NOT NULL, size INTEGER NOT NULL, entry BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_created ON responses (created_at)",
)


class SqliteCache:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        max_age: float | None = None,
        timeout: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise InvalidArgumentError(f"SqliteCache path must be a file path, got {path!r}")
        for name, value in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise InvalidArgumentError(
                    f"SqliteCache {name} must be an int >= 1 or None, got {value!r}"
                )
        if max_age is not None and (isinstance(max_age, bool) or not max_age > 0):
            raise InvalidArgumentError(
                f"SqliteCache max_age must be seconds > 0 or None, got {max_age!r}"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise InvalidArgumentError(f"SqliteCache timeout must be seconds >= 0, got {timeout!r}")
        self.path = Path(path)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        self._connections = ThreadConnections(self.path, timeout=float(timeout))
        self._ready = False

    @property
    def name(self) -> str:
        return f"sqlite:{self.path}"

    def _connection(self) -> sqlite3.Connection:
        connection = self._connections.get()
        if not self._ready:
            for statement in _SCHEMA:
                connection.execute(statement)
            self._ready = True
        return connection

    def _failed(self, operation: str, error: Exception) -> CacheError:
        self._connections.discard()
        self._ready = False
        return CacheError(
            f"the response cache {str(self.path)!r} could not {operation} "
            f"({type(error).__name__}: {error}); the call went on without it. If the file is "
            "not a cache (or is damaged), point with_cache()/--cache at another file or delete it"
        )

    def get(self, key: str) -> CacheEntry | None:
        try:
            row = (
                self._connection()
                .execute("SELECT created_at, entry FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
        except (sqlite3.Error, OSError) as error:
            raise self._failed("be read", error) from None
        if row is None:
            return None
        if self.max_age is not None and self._clock() - float(row[0]) > self.max_age:
            return None
        return CacheEntry.from_bytes(bytes(row[1]))

    def set(self, key: str, entry: CacheEntry) -> None:
        data = entry.to_bytes()
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(
                    "INSERT OR REPLACE INTO responses (key, created_at, size, entry) "
                    "VALUES (?, ?, ?, ?)",
                    (key, entry.created_at, len(data), data),
                )
                self._evict(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as error:
            raise self._failed("be written", error) from None

    def _evict(self, connection: sqlite3.Connection) -> None:
        if self.max_age is not None:
            connection.execute(
                "DELETE FROM responses WHERE created_at < ?", (self._clock() - self.max_age,)
            )
        if self.max_entries is not None:
            connection.execute(
                "DELETE FROM responses WHERE key IN (SELECT key FROM responses "
                "ORDER BY created_at DESC LIMIT -1 OFFSET ?)",
                (self.max_entries,),
            )
        if self.max_bytes is not None:
            total = int(
                connection.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()[0]
            )
            if total > self.max_bytes:
                rows: list[Any] = connection.execute(
                    "SELECT key, size FROM responses ORDER BY created_at"
                ).fetchall()
                doomed = []
                for key, size in rows:
                    if total <= self.max_bytes:
                        break
                    doomed.append((key,))
                    total -= int(size)
                connection.executemany("DELETE FROM responses WHERE key = ?", doomed)

    def stats(self) -> tuple[int, int]:
        """(entries, bytes) stored now."""
        try:
            row = (
                self._connection()
                .execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM responses")
                .fetchone()
            )
        except (sqlite3.Error, OSError) as error:
            raise self._failed("be read", error) from None
        return int(row[0]), int(row[1])

    def clear(self) -> None:
        try:
            self._connection().execute("DELETE FROM responses")
        except (sqlite3.Error, OSError) as error:
            raise self._failed("be cleared", error) from None

    def close(self) -> None:
        self._connections.close()
        self._ready = False

    def __repr__(self) -> str:
        return (
            f"SqliteCache(path={str(self.path)!r}, max_entries={self.max_entries}, "
            f"max_bytes={self.max_bytes}, max_age={self.max_age})"
        )
