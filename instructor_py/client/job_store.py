"""The SQLite store of provider batch jobs: what each job asked (its inputs, the request lines,
the call's recipe, the provider's configuration without its key), how far it got, and every
result line as it was read.

One file serves every thread and process (:func:`instructor_py.common.sqlite.connect`: WAL, busy
timeout). Default path: ``$INSTRUCTOR_PY_JOBS``, else ``$XDG_CACHE_HOME/instructor_py/jobs.sqlite``
(``~/.cache/...``). A job moves through phases ``recorded`` (intent written, nothing sent) ->
``uploaded`` (OpenAI: the input file's id) -> ``submitted`` (the remote batch's id, written right
after the create) -> ``collected`` (every result line stored).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructor_py.common.errors import BatchJobError, InvalidArgumentError
from instructor_py.common.sqlite import connect

__all__ = ["ItemRow", "JobRecord", "JobStore", "default_store_path"]

STORE_ENV = "INSTRUCTOR_PY_JOBS"
BUSY_TIMEOUT = 10.0
SEND_LEASE_SECONDS = 600.0
"""How long a process that is submitting a job keeps others from submitting it (unless it is
seen dead on this host)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_jobs (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    provider TEXT NOT NULL,
    recipe TEXT NOT NULL,
    phase TEXT NOT NULL,
    upload_ref TEXT,
    remote_id TEXT,
    remote TEXT,
    total INTEGER NOT NULL,
    sender TEXT,
    sending_until REAL
);
CREATE TABLE IF NOT EXISTS batch_items (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    input TEXT NOT NULL,
    line TEXT NOT NULL,
    result TEXT,
    repair TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE UNIQUE INDEX IF NOT EXISTS batch_items_custom_id ON batch_items (job_id, custom_id);
"""


def default_store_path() -> Path:
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache).expanduser() / "instructor_py" / "jobs.sqlite"


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    created_at: float
    provider: Mapping[str, Any]
    recipe: Mapping[str, Any]
    phase: str
    upload_ref: str | None
    remote_id: str | None
    remote: Mapping[str, Any] | None
    total: int


@dataclass(frozen=True, slots=True)
class ItemRow:
    index: int
    custom_id: str
    input: Any
    line: Mapping[str, Any]
    result: Any
    repair: Any


class JobStore:
    """The job store at ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self._lock = threading.Lock()
        with self._guard("open"):
            self._conn = connect(self.path, timeout=BUSY_TIMEOUT)
            self._conn.executescript(_SCHEMA)

    @classmethod
    def of(cls, store: JobStore | str | Path | None) -> JobStore:
        """``store`` itself, or the store at that path (``None``: the default path)."""
        if isinstance(store, JobStore):
            return store
        if store is not None and not isinstance(store, str | Path):
            raise InvalidArgumentError(
                f"store must be a JobStore, a path or None, got {type(store).__name__}"
            )
        return cls(store)

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as err:
            raise BatchJobError(
                f"the batch job store {self.path} could not {what} ({err}); check the file is a "
                "job store (or pass store=... / set INSTRUCTOR_PY_JOBS to another path)"
            ) from None

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard(what):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- jobs -----------------------------------------------------------------------------------

    def record_job(
        self,
        job_id: str,
        *,
        provider: Mapping[str, Any],
        recipe: Mapping[str, Any],
        items: Iterable[tuple[int, str, Any, Mapping[str, Any]]],
    ) -> None:
        """Write the intent (the job and every item's input and request line) in one transaction,
        before anything is sent."""
        now = time.time()
        rows = [
            (job_id, index, custom_id, _dumps(value), _dumps(line))
            for index, custom_id, value, line in items
        ]
        with self._write("record the job") as conn:
            conn.execute(
                "INSERT INTO batch_jobs (id, created_at, updated_at, provider, recipe, phase, "
                "total) VALUES (?, ?, ?, ?, ?, 'recorded', ?)",
                (job_id, now, now, _dumps(provider), _dumps(recipe), len(rows)),
            )
            conn.executemany(
                "INSERT INTO batch_items (job_id, idx, custom_id, input, line) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def job(self, job_id: str) -> JobRecord:
        with self._lock, self._guard("read the job"):
            row = self._conn.execute(
                "SELECT id, created_at, provider, recipe, phase, upload_ref, remote_id, remote, "
                "total FROM batch_jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
        if row is None:
            raise BatchJobError(
                f"no batch job {job_id!r} in {self.path}; check the id (instructor-py batch "
                "status lists none by that name) and the store path (store=... or "
                f"{STORE_ENV})"
            )
        return JobRecord(
            id=row[0],
            created_at=row[1],
            provider=json.loads(row[2]),
            recipe=json.loads(row[3]),
            phase=row[4],
            upload_ref=row[5],
            remote_id=row[6],
            remote=json.loads(row[7]) if row[7] else None,
            total=row[8],
        )

    def job_ids(self) -> list[str]:
        with self._lock, self._guard("list the jobs"):
            rows = self._conn.execute("SELECT id FROM batch_jobs ORDER BY created_at").fetchall()
        return [r[0] for r in rows]

    def claim_send(self, job_id: str) -> bool:
        """Take the right to submit ``job_id`` (``False``: another live process has it); held
        until :meth:`release_send`, :data:`SEND_LEASE_SECONDS`, or its holder is seen dead."""
        me = f"{socket.gethostname()}:{os.getpid()}"
        now = time.time()
        with self._write("claim the job") as conn:
            row = conn.execute(
                "SELECT sender, sending_until FROM batch_jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return False
            sender, until = row
            if sender and sender != me and until and until > now and _alive(sender):
                return False
            conn.execute(
                "UPDATE batch_jobs SET sender = ?, sending_until = ? WHERE id = ?",
                (me, now + SEND_LEASE_SECONDS, job_id),
            )
        return True

    def release_send(self, job_id: str) -> None:
        self._update(job_id, "sender = NULL, sending_until = NULL", ())

    def set_upload(self, job_id: str, upload_ref: str | None) -> None:
        self._update(job_id, "phase = 'uploaded', upload_ref = ?", (upload_ref,))

    def set_remote(self, job_id: str, remote_id: str, remote: Mapping[str, Any]) -> None:
        self._update(
            job_id, "phase = 'submitted', remote_id = ?, remote = ?", (remote_id, _dumps(remote))
        )

    def set_status(self, job_id: str, remote: Mapping[str, Any]) -> None:
        self._update(job_id, "remote = ?", (_dumps(remote),))

    def set_collected(self, job_id: str) -> None:
        self._update(job_id, "phase = 'collected'", ())

    def _update(self, job_id: str, assignments: str, values: tuple[Any, ...]) -> None:
        with self._write("update the job") as conn:
            conn.execute(
                f"UPDATE batch_jobs SET {assignments}, updated_at = ? WHERE id = ?",
                (*values, time.time(), job_id),
            )

    # -- items ------------------------------------------------------------------------------------

    def items(self, job_id: str) -> list[ItemRow]:
        with self._lock, self._guard("read the items"):
            rows = self._conn.execute(
                "SELECT idx, custom_id, input, line, result, repair FROM batch_items "
                "WHERE job_id = ? ORDER BY idx",
                (job_id,),
            ).fetchall()
        return [
            ItemRow(
                index=r[0],
                custom_id=r[1],
                input=json.loads(r[2]),
                line=json.loads(r[3]),
                result=json.loads(r[4]) if r[4] else None,
                repair=json.loads(r[5]) if r[5] else None,
            )
            for r in rows
        ]

    def save_results(self, job_id: str, lines: Iterable[tuple[str, Any]]) -> int:
        """Store result lines (``(custom_id, raw line)``); a line already stored is kept as it
        was. Returns how many were new."""
        new = 0
        with self._write("store results") as conn:
            for custom_id, raw in lines:
                cursor = conn.execute(
                    "UPDATE batch_items SET result = ? WHERE job_id = ? AND custom_id = ? "
                    "AND result IS NULL",
                    (_dumps(raw), job_id, custom_id),
                )
                new += cursor.rowcount
        return new

    def save_repair(self, job_id: str, index: int, body: Any) -> None:
        """The provider's body of a live answer that repaired item ``index``."""
        with self._write("store a repair") as conn:
            conn.execute(
                "UPDATE batch_items SET repair = ? WHERE job_id = ? AND idx = ?",
                (_dumps(body), job_id, index),
            )


def _alive(sender: str) -> bool:
    """Whether the process ``host:pid`` may still be running (only a process of this host can
    be seen dead)."""
    host, _, pid = sender.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
