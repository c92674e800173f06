"""One way to open an SQLite file shared by threads and processes (stdlib ``sqlite3``).

WAL journal (readers never block the writer), a busy timeout instead of "database is locked",
``synchronous=NORMAL`` (durable at each checkpoint; a crash loses at most the last transactions of
an OS crash, never an application crash), autocommit unless a ``with conn:`` block opens a
transaction. Used by the batch job store (:mod:`instructor_py.client.job_store`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10.0


def connect(path: str | Path, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection to ``path`` (its folder created) in WAL mode with a busy timeout."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, timeout=timeout, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn
