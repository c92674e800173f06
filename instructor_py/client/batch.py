"""Batches: one builder, many inputs, run concurrently, results in input order.

``StructuredOutput().with_(response_model=User).batch(inputs)`` (and ``await ... .abatch(inputs)``)
runs one call per input and returns a list as long as ``inputs``, in the same order; each entry is
the call's :class:`~instructor_py.run.response.StructuredOutputResponse` or, when that call failed,
the exception ``response()`` would have raised (a
:class:`~instructor_py.common.errors.StructuredOutputRetryError` carrying every attempt, a
:class:`~instructor_py.common.errors.RateLimitError` once transport retries ran out, a
:class:`~instructor_py.common.errors.ConfigurationError` for an input that cannot make a call...). One
failed item never stops the others; only wrong arguments to ``batch()`` itself raise.

An input is a message string, one message dict, a list of message dicts, or a dict of ``with_()``
arguments (``{"messages": ..., "system": ..., "options": {...}}``: any part of the
:class:`~instructor_py.run.call_spec.CallSpec`, checked by its rule), applied over the builder's.

Concurrency: ``concurrency`` calls at a time (threads for ``batch()``, tasks for ``abatch()``);
by default the provider's ``batch_concurrency`` if it declares one, else
:data:`DEFAULT_CONCURRENCY` (8: enough rows to feed a local model's continuous batch, and a bounded
number of connections to a remote API). Each call keeps its own transport retries; a 429/503 with
``Retry-After`` also holds back every other item's next request until then
(:mod:`instructor_py.client.batch_gate`).

Events: the builder's handlers see every item's events; an item's ``request_id`` is
``"<batch id>-<index>"``, so a handler can tell which input an event belongs to.

Progress: ``progress=callable(done, total)`` is called once when the batch starts and after every
item (one call at a time, from whichever worker finished it); ``progress=True`` draws
:class:`~instructor_py.client.progress.ProgressBar` on stderr.

Both edges share :class:`BatchRun` (the queue of jobs, the results, the callbacks); they differ only
in how a worker waits for its call (a thread calls ``response()``, a task awaits ``aresponse()``).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeAlias

from typing_extensions import TypeVar

from instructor_py.client.batch_gate import GatedProvider, RateGate
from instructor_py.client.pending import PendingStructuredOutput
from instructor_py.client.progress import ProgressBar
from instructor_py.common.errors import InvalidArgumentError
from instructor_py.providers.base import InferenceProvider
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.emitter import EventDispatcher
from instructor_py.run.plan import ExecutionPlan, build_plan
from instructor_py.run.response import StructuredOutputResponse


class BatchSource(Protocol):
    """What a batch needs of the builder (``StructuredOutput`` is one): the call spec the items
    are merged into, the event dispatcher, and the provider (resolved once for the batch)."""

    @property
    def spec(self) -> CallSpec: ...

    @property
    def events(self) -> EventDispatcher: ...

    def resolve_provider(self) -> InferenceProvider: ...

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BatchResult",
    "BatchRun",
    "BatchSource",
    "Progress",
    "arun_batch",
    "run_batch",
]

T = TypeVar("T", default=Any)

DEFAULT_CONCURRENCY = 8
"""Calls at a time when neither ``concurrency=`` nor the provider's ``batch_concurrency`` says."""

BatchResult: TypeAlias = StructuredOutputResponse[T] | Exception
"""One entry of a batch's results: the call's response, or the error of that call."""

Progress: TypeAlias = bool | Callable[[int, int], object] | None
"""``None``/``False`` (no progress), ``True`` (a bar on stderr) or ``callable(done, total)``."""

ResultCallback = Callable[[int, "BatchResult[Any]"], object]


class BatchRun(Generic[T]):
    """The shared state of one batch: the jobs not started yet, the results so far and the
    callbacks. Workers :meth:`claim` a job, run it and :meth:`record` its outcome, until none is
    left (or :meth:`stop`). Callbacks run under the lock, one at a time; if one raises, no new job
    starts and :meth:`results` raises that error once the running ones are done."""

    def __init__(
        self,
        prepared: list[ExecutionPlan | Exception],
        progress: Callable[[int, int], object] | None = None,
        on_result: ResultCallback | None = None,
    ) -> None:
        self.total = len(prepared)
        self._results: list[BatchResult[T] | None] = [None] * self.total
        self._plans = prepared
        self._jobs = deque(i for i, p in enumerate(prepared) if isinstance(p, ExecutionPlan))
        self._progress = progress
        self._on_result = on_result
        self._lock = threading.Lock()
        self._done = 0
        self._stopped = False
        self._callback_error: BaseException | None = None
        with self._lock:
            for index, item in enumerate(prepared):
                if not isinstance(item, ExecutionPlan):  # the input could not make a call
                    self._finish(index, item, report=False)
            self._report()

    @property
    def pending(self) -> int:
        """Jobs not claimed yet."""
        with self._lock:
            return len(self._jobs)

    def claim(self) -> tuple[int, ExecutionPlan] | None:
        """The next job (its index and plan), or ``None`` when there is none left to start."""
        with self._lock:
            if self._stopped or not self._jobs:
                return None
            index = self._jobs.popleft()
        plan = self._plans[index]
        assert isinstance(plan, ExecutionPlan)
        return index, plan

    def record(self, index: int, outcome: BatchResult[T]) -> None:
        with self._lock:
            self._finish(index, outcome, report=True)

    def abort(self, error: BaseException) -> None:
        """Stop, and make :meth:`results` raise ``error`` (a worker thread's ``SystemExit``...,
        which must reach the caller rather than end the thread silently)."""
        with self._lock:
            self._stopped = True
            if self._callback_error is None:
                self._callback_error = error

    def stop(self) -> None:
        """Start no more jobs (the running ones finish)."""
        with self._lock:
            self._stopped = True

    def results(self) -> list[BatchResult[T]]:
        """Every outcome in input order (after the workers are done)."""
        if self._callback_error is not None:
            raise self._callback_error
        missing = [i for i, r in enumerate(self._results) if r is None]
        if missing:
            raise AssertionError(f"batch stopped with items {missing[:5]} not run")
        return [r for r in self._results if r is not None]

    def _finish(self, index: int, outcome: BatchResult[T], *, report: bool) -> None:
        self._results[index] = outcome
        self._done += 1
        if self._on_result is not None:
            self._call(self._on_result, index, outcome)
        if report:
            self._report()

    def _report(self) -> None:
        if self._progress is not None:
            self._call(self._progress, self._done, self.total)

    def _call(self, callback: Callable[..., object], *args: Any) -> None:
        if self._callback_error is not None:
            return
        try:
            callback(*args)
        except Exception as error:
            self._callback_error = error
            self._stopped = True


# -- the two edges ---------------------------------------------------------------------------


def run_batch(
    builder: BatchSource,
    inputs: Iterable[Any],
    *,
    concurrency: int | None = None,
    progress: Progress = None,
    on_result: ResultCallback | None = None,
) -> list[BatchResult[Any]]:
    """``builder.batch(...)`` (module docstring); ``on_result(index, outcome)`` is called as
    each item finishes (in completion order, one call at a time)."""
    prepared = _prepare(builder, inputs, concurrency, progress, on_result)
    if prepared is None:
        return []
    run, workers = prepared
    # always worker threads, even for one: on a busy machine a local model decoded many times
    # slower from the main thread while llama.cpp's OpenMP team spin-waited (instructor_py.local
    # now asks for passive waits; see docs/local.md#threads and docs/benchmarks.md#batches)
    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(_work, run),
            name=f"instructor_py-batch-{n}",
            daemon=True,
        )
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: start nothing more; the running calls end by themselves
        run.stop()
        raise
    return run.results()


async def arun_batch(
    builder: BatchSource,
    inputs: Iterable[Any],
    *,
    concurrency: int | None = None,
    progress: Progress = None,
    on_result: ResultCallback | None = None,
) -> list[BatchResult[Any]]:
    """``await builder.abatch(...)``: :func:`run_batch` with tasks instead of threads (cancelling
    it cancels the running calls)."""
    prepared = _prepare(builder, inputs, concurrency, progress, on_result)
    if prepared is None:
        return []
    run, workers = prepared
    tasks = [asyncio.ensure_future(_awork(run)) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        run.stop()
        for task in tasks:
            task.cancel()
        raise
    return run.results()


def _work(run: BatchRun[Any]) -> None:
    while (job := run.claim()) is not None:
        index, plan = job
        outcome: BatchResult[Any]
        try:
            outcome = PendingStructuredOutput[Any](plan).response()
        except Exception as error:
            outcome = error
        except BaseException as error:  # SystemExit from a validator...: the caller's, not the item's
            run.abort(error)
            return
        run.record(index, outcome)


async def _awork(run: BatchRun[Any]) -> None:
    while (job := run.claim()) is not None:
        index, plan = job
        outcome: BatchResult[Any]
        try:
            outcome = await PendingStructuredOutput[Any](plan).aresponse()
        except Exception as error:
            outcome = error
        run.record(index, outcome)


# -- checking the arguments and preparing the jobs ---------------------------------------------


def _prepare(
    builder: BatchSource,
    inputs: Iterable[Any],
    concurrency: int | None,
    progress: Progress,
    on_result: ResultCallback | None,
) -> tuple[BatchRun[Any], int] | None:
    """The run and its number of workers (``None`` for no inputs: nothing to resolve or load)."""
    items = _inputs(inputs)
    report = _progress(progress)
    if concurrency is not None:
        _check_concurrency(concurrency, "concurrency")
    if on_result is not None and not callable(on_result):
        raise InvalidArgumentError(f"on_result must be callable, got {type(on_result).__name__}")
    if not items:
        return None
    provider = builder.resolve_provider()  # a configuration error here is the whole batch's
    workers = concurrency if concurrency is not None else default_concurrency(provider)
    gate = RateGate(max_hold=float(getattr(builder.spec.transport_policy, "max_retry_after", 60.0)))
    gated = GatedProvider(provider, gate)
    batch_id = uuid.uuid4().hex[:12]
    prepared = [
        _plan(builder, gated, item, f"{batch_id}-{index}", index) for index, item in enumerate(items)
    ]
    run = BatchRun[Any](prepared, report, on_result)
    return run, max(1, min(workers, run.pending))


def default_concurrency(provider: InferenceProvider) -> int:
    """The provider's ``batch_concurrency`` when it declares a valid one, else
    :data:`DEFAULT_CONCURRENCY`."""
    declared = getattr(provider, "batch_concurrency", None)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared >= 1:
        return declared
    return DEFAULT_CONCURRENCY


def _inputs(inputs: Any) -> list[Any]:
    if isinstance(inputs, str | bytes | Mapping) or not isinstance(inputs, Iterable):
        raise InvalidArgumentError(
            "batch() takes a list of inputs (message strings, lists of message dicts or dicts of "
            f"with_() arguments), got {type(inputs).__name__}"
            + ("; wrap a single input in a list" if isinstance(inputs, str | Mapping) else "")
        )
    return list(inputs)


def _progress(progress: Any) -> Callable[[int, int], object] | None:
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressBar()
    if not callable(progress):
        raise InvalidArgumentError(
            "progress must be True (a bar on stderr), None/False or a callable(done, total), "
            f"got {type(progress).__name__}"
        )
    return progress  # type: ignore[no-any-return]


def _check_concurrency(value: Any, argument: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"{argument} must be an int >= 1 (calls at a time), got {value!r}"
        )


def _plan(
    builder: BatchSource, provider: GatedProvider, item: Any, request_id: str, index: int
) -> ExecutionPlan | Exception:
    """The item's plan over the builder's parts, or the error that keeps it from being a call."""
    try:
        spec = builder.spec.with_(**_parts(item, index))
        return build_plan(provider, spec, events=builder.events, request_id=request_id)
    except Exception as error:
        return error


def _parts(item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, str | list | tuple):
        return {"messages": item}
    if isinstance(item, Mapping):
        if "role" in item:  # one message dict
            return {"messages": item}
        bad = [k for k in item if not isinstance(k, str)]
        if bad:
            raise InvalidArgumentError(
                f"batch input {index}: with_() argument names must be str, got {bad[0]!r}"
            )
        return dict(item)
    raise InvalidArgumentError(
        f"batch input {index} must be a message string, a message dict, a list of message dicts "
        f"or a dict of with_() arguments, got {type(item).__name__}"
    )
