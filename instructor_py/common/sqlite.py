"""SQLite connections shared by the stores that keep state in a file (the response cache; the
batch job store): WAL journal (readers never wait for the writer; several processes share the
file), a busy timeout (a writer waits that long for another's lock, then fails with
``database is locked`` instead of hanging), one connection per thread and process.

Only the stdlib :mod:`sqlite3`."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["ThreadConnections", "connect"]


def connect(path: str | os.PathLike[str], *, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection to ``path`` (created with its folder if absent) in WAL mode, autocommit
    (``isolation_level=None``: write ``BEGIN IMMEDIATE`` ... ``COMMIT`` explicitly),
    ``synchronous=NORMAL`` (durable across a process crash; a power cut may lose the last
    commits) and a busy timeout of ``timeout`` seconds. Raises :class:`sqlite3.Error` (a file
    that is not a database: ``DatabaseError``; held locks: ``OperationalError``)."""
    file = Path(path)
    if file.parent and not file.parent.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        str(file), timeout=timeout, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        # stays in its current mode if another connection holds the file in one that forbids
        # the switch (reads and writes still work, only less concurrently)
        connection.execute("PRAGMA journal_mode = WAL").fetchone()
        connection.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


class ThreadConnections:
    """One connection per thread (and per process: a forked child opens its own), opened on
    first use; :meth:`close` closes them all."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        pid = os.getpid()
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == pid:
            return held[1]
        connection = connect(self.path, timeout=self.timeout)
        self._local.held = (pid, connection)
        with self._lock:
            self._all.append(connection)
        return connection

    def discard(self) -> None:
        """Forget (and close) this thread's connection: the next :meth:`get` opens a new one
        (after an error that may have left it unusable)."""
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            with self._lock:
                if held[1] in self._all:
                    self._all.remove(held[1])
            with contextlib.suppress(sqlite3.Error):
                held[1].close()

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            with contextlib.suppress(sqlite3.Error):
                connection.close()
        self._local = threading.local()
