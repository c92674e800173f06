"""Provider batch APIs behind one small protocol (OpenAI's Files + Batches API, Anthropic's
Message Batches): a request line per item, create / find / retrieve / cancel a remote batch, and
its result lines back.

What differs between vendors -- the request line's shape, the endpoints, the statuses, the result
line's shape -- lives in :mod:`instructor_py.providers.openai_batch` and
:mod:`instructor_py.providers.anthropic_batch`. The request body of a line is the same body the
live driver would send (its ``*_wire`` module builds both), and a line's answer is mapped by the
same function that maps a live answer, so a batch answer goes through the same pipeline as a
live one (:mod:`instructor_py.client.batch_job`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from instructor_py.common.errors import BatchItemError
from instructor_py.providers.base import InferenceRequest, InferenceResponse

__all__ = [
    "TERMINAL_STATES",
    "BatchDriver",
    "BatchLine",
    "BatchState",
    "RemoteBatch",
]

BatchState = Literal[
    "preparing",
    "validating",
    "in_progress",
    "finalizing",
    "cancelling",
    "completed",
    "failed",
    "expired",
    "cancelled",
]
"""A batch's state, in OpenAI's vocabulary (Anthropic's ``in_progress`` / ``canceling`` /
``ended`` map onto it); ``preparing``: recorded here, not created at the provider yet."""

TERMINAL_STATES: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True, slots=True)
class RemoteBatch:
    """A provider's batch as last seen: its id, state, per-item counts and times (Unix
    seconds), the provider's own status word, and ``results_ref`` (where the results are: the
    output and error file ids, or the results URL). ``raw`` is the provider's JSON object."""

    id: str
    state: BatchState
    provider_status: str
    total: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    processing: int = 0
    created_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = None
    results_ref: Mapping[str, Any] = field(default_factory=dict)
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One result line: the item's ``custom_id`` and either the provider's answer, mapped as a
    live answer would be, or the item's error."""

    custom_id: str
    response: InferenceResponse | None = None
    error: BatchItemError | None = None


class BatchDriver(Protocol):
    """What a batch job needs of a provider's batch API (one implementation per vendor)."""

    @property
    def name(self) -> str: ...

    def request_line(self, custom_id: str, request: InferenceRequest) -> dict[str, Any]:
        """The item's request as the provider's batch API takes it (the live request's body)."""
        ...

    def upload(self, job_id: str, lines: Sequence[Mapping[str, Any]]) -> str | None:
        """Upload the lines where the API wants them first (OpenAI: a JSONL file; returns its
        id, reusing a file of this job already there); ``None`` when the API takes them inline."""
        ...

    def create(
        self, job_id: str, lines: Sequence[Mapping[str, Any]], upload: str | None
    ) -> RemoteBatch:
        """Create the remote batch (tagged with ``job_id`` where the API keeps metadata)."""
        ...

    def find(self, job_id: str, *, total: int, since: float) -> RemoteBatch | None:
        """The remote batch of ``job_id`` if one was created (after ``since``, with ``total``
        requests), so that a job killed between create and its record is not submitted twice;
        raises :class:`~instructor_py.common.errors.BatchJobError` when it cannot tell."""
        ...

    def retrieve(self, remote_id: str) -> RemoteBatch: ...

    def cancel(self, remote_id: str) -> RemoteBatch: ...

    def result_lines(self, remote: RemoteBatch) -> Iterator[tuple[str, Any]]:
        """``(custom_id, raw line)`` for every result line of an ended batch, as read."""
        ...

    def parse_line(self, custom_id: str, raw: Any) -> BatchLine:
        """A stored raw line mapped to the answer or the error (pure)."""
        ...

    def parse_body(self, body: Any) -> InferenceResponse:
        """A live answer's body (as kept in ``InferenceResponse.raw``) mapped again (pure)."""
        ...

    def close(self) -> None: ...


def item_error(
    provider: str,
    custom_id: str,
    what: str,
    *,
    code: str | None,
    raw: Any,
    status: int | None = None,
) -> BatchItemError:
    """The error of one item, with what to do about it."""
    return BatchItemError(
        f"{provider} batch item {custom_id!r}: {what.rstrip('. ')}. Submit the item again (a new "
        "submit_batch with the failed inputs) or run it live with get().",
        custom_id=custom_id,
        code=code,
        raw=raw,
        provider=provider,
        status=status,
    )
