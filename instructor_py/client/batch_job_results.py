"""Reading a provider batch job's results (:mod:`instructor_py.client.batch_job`): the result
lines are stored as they are read (:func:`collect`), then each item's answer goes through the
call's attempt loop and pipeline (:func:`~instructor_py.run.replay.replay`); with ``repair`` an
answer that fails is re-asked live, and the live answer that repaired it is stored too."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from instructor_py.client.batch import BatchResult
from instructor_py.client.job_store import ItemRow, JobStore
from instructor_py.common.errors import StructuredOutputRetryError
from instructor_py.providers.base import InferenceResponse
from instructor_py.providers.batch import BatchDriver, RemoteBatch, item_error
from instructor_py.run.plan import ExecutionPlan
from instructor_py.run.replay import replay
from instructor_py.run.response import StructuredOutputResponse

__all__ = ["BatchJobResult", "ResultReader", "collect"]

T = TypeVar("T", default=Any)

SAVE_EVERY = 200
"""Result lines written to the store per transaction while they are read."""


@dataclass(frozen=True, slots=True)
class BatchJobResult(Generic[T]):
    """One item's outcome: ``response`` or ``error`` (the exception ``get()`` would have raised,
    or a :class:`~instructor_py.common.errors.BatchItemError` for an item the provider did not
    answer), and whether a live re-ask ``repaired`` it."""

    index: int
    custom_id: str
    response: StructuredOutputResponse[T] | None = None
    error: Exception | None = None
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def outcome(self) -> BatchResult[T]:
        """The response, or the error (the shape of one entry of ``batch()``)."""
        if self.response is not None:
            return self.response
        assert self.error is not None
        return self.error

    @property
    def value(self) -> T:
        """The validated value (raises the item's error)."""
        if self.response is None:
            assert self.error is not None
            raise self.error
        return self.response.value


def collect(store: JobStore, job_id: str, driver: BatchDriver, remote: RemoteBatch) -> None:
    """Read every result line of the ended batch into the store, ``SAVE_EVERY`` at a time, and
    mark the job collected (a line stored before is kept as it was)."""
    chunk: list[tuple[str, Any]] = []
    for line in driver.result_lines(remote):
        chunk.append(line)
        if len(chunk) >= SAVE_EVERY:
            store.save_results(job_id, chunk)
            chunk = []
    store.save_results(job_id, chunk)
    store.set_collected(job_id)


class ResultReader(Generic[T]):
    """Every item's :class:`BatchJobResult` from the stored lines (and stored repairs)."""

    def __init__(
        self,
        *,
        store: JobStore,
        job_id: str,
        driver: BatchDriver,
        plan: Callable[[ItemRow], ExecutionPlan],
        repair: bool,
        ended: str,
    ) -> None:
        self._store = store
        self._job_id = job_id
        self._driver = driver
        self._plan = plan
        self._repair = repair
        self._ended = ended

    def read(self, concurrency: int) -> list[BatchJobResult[T]]:
        rows = self._store.items(self._job_id)
        details: list[BatchJobResult[T] | None] = [None] * len(rows)
        to_repair: list[tuple[ItemRow, ExecutionPlan, InferenceResponse]] = []
        for row in rows:
            detail, answer = self._first(row)
            details[row.index] = detail
            if answer is not None:
                to_repair.append((row, self._plan(row), answer))
        if to_repair:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(to_repair))) as pool:
                for detail in pool.map(lambda job: self._repaired(*job), to_repair):
                    details[detail.index] = detail
        return [d for d in details if d is not None]

    def _first(self, row: ItemRow) -> tuple[BatchJobResult[T], InferenceResponse | None]:
        """The item's result from its line (or its stored repair), and its answer when that
        answer failed and is to be repaired."""
        driver = self._driver
        if row.repair is not None:
            return self._replayed(row, driver.parse_body(row.repair), repaired=True), None
        if row.result is None:
            what = f"no result line for this item: the batch ended {self._ended}"
            error = item_error(driver.name, row.custom_id, what, code="missing", raw=None)
            return BatchJobResult(row.index, row.custom_id, error=error), None
        line = driver.parse_line(row.custom_id, row.result)
        if line.error is not None or line.response is None:
            return BatchJobResult(row.index, row.custom_id, error=line.error), None
        detail = self._replayed(row, line.response, repaired=False)
        if self._repair and isinstance(detail.error, StructuredOutputRetryError):
            return detail, line.response
        return detail, None

    def _replayed(
        self, row: ItemRow, answer: InferenceResponse, *, repaired: bool
    ) -> BatchJobResult[T]:
        try:
            response = replay(self._plan(row), answer)
        except Exception as error:
            return BatchJobResult(row.index, row.custom_id, error=error)
        return BatchJobResult(row.index, row.custom_id, response=response, repaired=repaired)

    def _repaired(
        self, row: ItemRow, plan: ExecutionPlan, answer: InferenceResponse
    ) -> BatchJobResult[T]:
        try:
            response = replay(plan, answer, repair=True)
        except Exception as error:
            return BatchJobResult(row.index, row.custom_id, error=error)
        self._store.save_repair(self._job_id, row.index, response.raw_response)
        return BatchJobResult(row.index, row.custom_id, response=response, repaired=True)
