"""A provider batch job's status record, and the remote batch as the job store keeps it (JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from instructor_py.providers.batch import TERMINAL_STATES, BatchState, RemoteBatch

__all__ = ["BatchJobStatus", "remote_json", "remote_of"]


@dataclass(frozen=True, slots=True)
class BatchJobStatus:
    """A job's state as last seen: ``state`` (OpenAI's words: ``validating``, ``in_progress``,
    ``finalizing``, ``cancelling``, ``completed``, ``failed``, ``expired``, ``cancelled``; or
    ``preparing`` before the provider has it), per-item counts, times in Unix seconds and the
    provider's own status word."""

    job_id: str
    remote_id: str | None
    provider: str
    state: BatchState
    total: int
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    processing: int = 0
    created_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = None
    provider_status: str = ""

    @property
    def done(self) -> bool:
        """The job has ended (its results can be read)."""
        return self.state in TERMINAL_STATES

    @property
    def finished(self) -> int:
        """Items the provider has finished with (answered, errored, expired or cancelled)."""
        return self.total - self.processing if self.remote_id else 0


def remote_json(remote: RemoteBatch) -> dict[str, Any]:
    return {
        "id": remote.id,
        "state": remote.state,
        "provider_status": remote.provider_status,
        "total": remote.total,
        "succeeded": remote.succeeded,
        "errored": remote.errored,
        "canceled": remote.canceled,
        "expired": remote.expired,
        "processing": remote.processing,
        "created_at": remote.created_at,
        "ended_at": remote.ended_at,
        "expires_at": remote.expires_at,
        "results_ref": dict(remote.results_ref),
    }


def remote_of(data: Mapping[str, Any]) -> RemoteBatch:
    return RemoteBatch(
        id=str(data.get("id")),
        state=data.get("state", "completed"),
        provider_status=str(data.get("provider_status", "")),
        results_ref=dict(data.get("results_ref") or {}),
    )
