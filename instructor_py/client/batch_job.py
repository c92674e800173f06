"""Provider batch jobs: ``builder.submit_batch(inputs) -> BatchJob`` on OpenAI's Batch API or
Anthropic's Message Batches (half the price of live calls, answers within 24 hours).

Each input is what :meth:`~instructor_py.client.structured_output.StructuredOutput.batch` takes
(a message string, message dicts, or a dict of ``with_()`` parts); its request is the one a live
``get()`` would send first (``build_plan``), written as the provider's batch line with the custom id
``"<job id>-<index>"``. ``job.results()`` reads every answer through the same attempt loop and
pipeline as a live call (:func:`~instructor_py.run.replay.replay`), in input order.

Surviving a restart: the job's inputs, request lines, recipe and provider configuration (never the
key) are written to the :class:`~instructor_py.client.job_store.JobStore` before anything is sent,
the remote batch id right after the create, and each result line as it is read.
``BatchJob.resume(job_id)`` in any process carries on from there; a job whose create may have
happened without its id being recorded looks the remote batch up (by its metadata on OpenAI,
by time, size and custom ids on Anthropic) before it would submit again.

``repair=True``: an item whose answer fails validation is re-asked live with the errors fed back
(the builder's validation retries, at least one); its result says ``repaired=True``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from instructor_py.client.batch import BatchResult, BatchSource, _inputs, _parts, _progress
from instructor_py.client.batch_job_results import BatchJobResult, ResultReader, collect
from instructor_py.client.batch_job_status import BatchJobStatus, remote_json, remote_of
from instructor_py.client.job_recipe import (
    ProviderConfig,
    jsonable_rows,
    provider_config,
    recipe_of,
    spec_of,
)
from instructor_py.client.job_store import ItemRow, JobRecord, JobStore
from instructor_py.client.provider_source import ProviderSource
from instructor_py.common.errors import (
    BatchJobError,
    BatchJobTimeoutError,
    ConfigurationError,
    InvalidArgumentError,
    TransportError,
)
from instructor_py.providers.base import InferenceProvider
from instructor_py.providers.batch import (
    TERMINAL_STATES,
    BatchDriver,
    RemoteBatch,
)
from instructor_py.providers.batch_drivers import create_batch_driver
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.emitter import EventDispatcher
from instructor_py.run.plan import ExecutionPlan, build_plan


class JobSource(BatchSource, Protocol):
    """What a batch job needs of the builder (``StructuredOutput`` is one): a batch's needs plus
    the provider's configuration (kept with the job so another process can resume it)."""

    @property
    def source(self) -> ProviderSource | None: ...

    @property
    def provider(self) -> InferenceProvider | None: ...

__all__ = ["BatchJob", "BatchJobResult", "BatchJobStatus"]

T = TypeVar("T", default=Any)

DEFAULT_POLL_INTERVAL = 30.0
REPAIR_CONCURRENCY = 8


class BatchJob(Generic[T]):
    """A provider batch job (module docstring). Made by ``submit_batch`` or :meth:`resume`."""

    def __init__(
        self,
        *,
        store: JobStore,
        record: JobRecord,
        spec: CallSpec,
        events: EventDispatcher,
        config: ProviderConfig,
        repair: bool,
        provider: InferenceProvider | None = None,
    ) -> None:
        self._store = store
        self._record = record
        self._spec = spec
        self._events = events
        self._config = config
        self._repair = repair
        self._provider = provider
        self._driver: BatchDriver | None = None
        self._lock = threading.Lock()
        self._details: list[BatchJobResult[T]] | None = None

    # -- making and finding jobs ------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        builder: JobSource,
        inputs: Iterable[Any],
        *,
        store: JobStore | str | Path | None = None,
        repair: bool = False,
        api_key: str | None = None,
    ) -> BatchJob[Any]:
        """``builder.submit_batch(...)``: record the job, upload and create the remote batch."""
        if not isinstance(repair, bool):
            raise InvalidArgumentError(f"repair must be True or False, got {repair!r}")
        items = _inputs(inputs)
        if not items:
            raise InvalidArgumentError("submit_batch() needs at least one input")
        config = provider_config(builder.source, builder.provider, api_key)
        provider = builder.resolve_provider()
        job_id = "ipj" + uuid.uuid4().hex[:20]
        driver = create_batch_driver(
            config.preset, api_key=config.key(), base_url=config.base_url, timeout=config.timeout
        )
        # the request as the live driver sends it (media prepared, schema preflight applied)
        prepare = getattr(provider, "prepared", None)
        rows: list[tuple[int, str, Any, Mapping[str, Any]]] = []
        for index, item in enumerate(items):
            custom_id = f"{job_id}-{index}"
            try:
                parts = _parts(item, index)
                plan = build_plan(provider, builder.spec.with_(**parts), request_id=custom_id)
            except ConfigurationError as err:
                raise type(err)(f"submit_batch() input {index}: {err}") from None
            request = prepare(plan.request) if prepare is not None else plan.request
            rows.append((index, custom_id, parts, driver.request_line(custom_id, request)))
        job_store = JobStore.of(store)
        job_store.record_job(
            job_id,
            provider=config.to_json(),
            recipe=recipe_of(builder.spec, repair=repair),
            items=jsonable_rows(rows),
        )
        job: BatchJob[Any] = cls(
            store=job_store,
            record=job_store.job(job_id),
            spec=builder.spec,
            events=builder.events,
            config=config,
            repair=repair,
            provider=provider,
        )
        job._driver = driver
        job._send(lookup=False)
        return job

    @classmethod
    def resume(
        cls,
        job_id: str,
        *,
        store: JobStore | str | Path | None = None,
        builder: JobSource | None = None,
        api_key: str | None = None,
        repair: bool | None = None,
        remote_id: str | None = None,
    ) -> BatchJob[Any]:
        """The job ``job_id`` from the store, in this process: a job whose remote batch was never
        recorded is looked up at the provider, and submitted only if it is not there.
        ``builder``: the builder it was submitted with (needed when it had validators or other
        code; its response model must be the job's). ``remote_id``: the provider's batch id, when
        you know it and the lookup cannot tell. The key is ``api_key`` or the preset's variable."""
        job_store = JobStore.of(store)
        record = job_store.job(job_id)
        config = ProviderConfig.from_json(record.provider, api_key)
        spec = spec_of(record.recipe, builder.spec if builder is not None else None)
        job: BatchJob[Any] = cls(
            store=job_store,
            record=record,
            spec=spec,
            events=builder.events if builder is not None else EventDispatcher(),
            config=config,
            repair=bool(record.recipe.get("repair")) if repair is None else repair,
        )
        if record.remote_id is None:
            if remote_id is not None:
                job._adopt(job.driver().retrieve(remote_id))
            else:
                job._send(lookup=True)
        return job

    # -- the job ------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def remote_id(self) -> str | None:
        return self._record.remote_id

    @property
    def store(self) -> JobStore:
        return self._store

    def __repr__(self) -> str:
        return (
            f"BatchJob(id={self.id!r}, provider={self._config.preset.name!r}, "
            f"remote_id={self.remote_id!r}, items={self._record.total})"
        )

    def close(self) -> None:
        """Close the batch API client's connections (the job stays usable; a new client is
        made when needed). Also ``with builder.submit_batch(...) as job:``."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.close()

    def __enter__(self) -> BatchJob[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def driver(self) -> BatchDriver:
        if self._driver is None:
            self._driver = create_batch_driver(
                self._config.preset,
                api_key=self._config.key(),
                base_url=self._config.base_url,
                timeout=self._config.timeout,
            )
        return self._driver

    def status(self) -> BatchJobStatus:
        """The job's state now (asks the provider; a job that ended is not asked again)."""
        record = self._record
        if record.remote_id is None:
            return BatchJobStatus(record.id, None, self._config.preset.name, "preparing", record.total)
        if record.remote is not None and record.remote.get("state") in TERMINAL_STATES:
            return self._status(record.remote)
        remote = self.driver().retrieve(record.remote_id)
        self._store.set_status(record.id, remote_json(remote))
        self._record = self._store.job(record.id)
        return self._status(remote_json(remote))

    def wait(
        self,
        *,
        progress: bool | Callable[[int, int], object] | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
    ) -> BatchJobStatus:
        """Poll :meth:`status` every ``poll_interval`` seconds until the job ends (a transient
        provider error is polled through); ``progress(finished, total)`` after each poll
        (``True``: a bar on stderr). Past ``timeout`` seconds, :class:`BatchJobTimeoutError`
        (the job goes on)."""
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, int | float) or poll_interval <= 0:
            raise InvalidArgumentError(f"poll_interval must be seconds > 0, got {poll_interval!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0):
            raise InvalidArgumentError(f"timeout must be seconds >= 0 or None, got {timeout!r}")
        report = _progress(progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        last: BatchJobStatus | None = None
        while True:
            try:
                last = self.status()
            except TransportError:
                if last is None and deadline is not None and time.monotonic() >= deadline:
                    raise
            if last is not None:
                if report is not None:
                    report(last.finished, last.total)
                if last.done:
                    return last
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    state = last.state if last is not None else "unknown"
                    raise BatchJobTimeoutError(
                        f"batch job {self.id} is still {state} after {timeout:g}s; call wait() "
                        f"again or BatchJob.resume({self.id!r}) later",
                        status=last,
                    )
                time.sleep(min(poll_interval, left))
            else:
                time.sleep(poll_interval)

    def cancel(self) -> BatchJobStatus:
        """Ask the provider to cancel the batch (items it already answered keep their answers)."""
        if self._record.remote_id is None:
            raise BatchJobError(f"batch job {self.id} has no remote batch to cancel yet")
        remote = self.driver().cancel(self._record.remote_id)
        self._store.set_status(self.id, remote_json(remote))
        self._record = self._store.job(self.id)
        return self._status(remote_json(remote))

    def results(self, *, concurrency: int | None = None) -> list[BatchResult[T]]:
        """Every item's response or error, in input order (the shape of ``batch()``); the job
        must have ended (:meth:`wait`). Answers are read once, stored, and parsed by the call's
        pipeline; with ``repair`` failed ones are re-asked live (``concurrency`` at a time)."""
        return [detail.outcome for detail in self.details(concurrency=concurrency)]

    def details(self, *, concurrency: int | None = None) -> list[BatchJobResult[T]]:
        """:meth:`results` as :class:`BatchJobResult` records (with ``repaired``)."""
        with self._lock:
            if self._details is None:
                self._details = self._read(concurrency or REPAIR_CONCURRENCY)
            return self._details

    @property
    def repaired(self) -> tuple[int, ...]:
        """Indices of the items a live re-ask repaired (after :meth:`results`)."""
        return tuple(d.index for d in self.details() if d.repaired)

    # -- internals --------------------------------------------------------------------------------

    def _send(self, *, lookup: bool) -> None:
        """Submit the recorded job; on resume (``lookup``) only after looking its remote batch up
        at the provider (it may have been created by a process that died before recording it).
        One process at a time: another live process submitting the same job is an error."""
        if not self._store.claim_send(self.id):
            raise BatchJobError(
                f"another process is submitting batch job {self.id} right now; resume it again "
                "once that process is done (or dead)"
            )
        try:
            self._submit(lookup=lookup)
        finally:
            self._store.release_send(self.id)

    def _submit(self, *, lookup: bool) -> None:
        self._record = record = self._store.job(self.id)
        if record.remote_id is not None:  # another process finished submitting meanwhile
            return
        driver = self.driver()
        if lookup:
            found = driver.find(record.id, total=record.total, since=record.created_at)
            if found is not None:
                self._adopt(found)
                return
        lines = [row.line for row in self._store.items(record.id)]
        upload = record.upload_ref
        if upload is None:
            upload = driver.upload(record.id, lines)
            self._store.set_upload(record.id, upload)
        try:
            remote = driver.create(record.id, lines, upload)
        except Exception as err:
            err.add_note(
                f"batch job {record.id}: the create may have reached the provider; "
                f"BatchJob.resume({record.id!r}) looks the batch up before submitting again"
            )
            raise
        self._adopt(remote)

    def _adopt(self, remote: RemoteBatch) -> None:
        self._store.set_remote(self.id, remote.id, remote_json(remote))
        self._record = self._store.job(self.id)

    def _status(self, remote: Mapping[str, Any]) -> BatchJobStatus:
        return BatchJobStatus(
            job_id=self.id,
            remote_id=self._record.remote_id,
            provider=self._config.preset.name,
            state=remote["state"],
            total=self._record.total,
            succeeded=remote.get("succeeded", 0),
            errored=remote.get("errored", 0),
            canceled=remote.get("canceled", 0),
            expired=remote.get("expired", 0),
            processing=remote.get("processing", 0),
            created_at=remote.get("created_at"),
            ended_at=remote.get("ended_at"),
            expires_at=remote.get("expires_at"),
            provider_status=remote.get("provider_status", ""),
        )

    def _read(self, concurrency: int) -> list[BatchJobResult[T]]:
        status = self.status()
        if not status.done:
            raise BatchJobError(
                f"batch job {self.id} is still {status.state} ({status.finished}/{status.total} "
                "finished); call job.wait() first"
            )
        driver = self.driver()
        if self._record.phase != "collected":
            collect(self._store, self.id, driver, remote_of(self._record.remote or {}))
            self._record = self._store.job(self.id)
        errors = ((self._record.remote or {}).get("results_ref") or {}).get("errors") or []
        reader = ResultReader(
            store=self._store,
            job_id=self.id,
            driver=driver,
            plan=self._plan,
            repair=self._repair,
            ended=status.state + (f" ({'; '.join(errors)})" if errors else ""),
        )
        return reader.read(concurrency)

    def _plan(self, row: ItemRow) -> ExecutionPlan:
        return build_plan(
            self._live_provider(),
            self._spec.with_(**row.input),
            events=self._events,
            request_id=row.custom_id,
        )

    def _live_provider(self) -> InferenceProvider:
        if self._provider is None:
            self._provider = self._config.provider()
        return self._provider
