"""Load on the local provider: many requests from threads against the one embedded model, some
cancelled mid-stream (``close()`` from a thread, task cancellation on an event loop). The model
lock and the KV cache must survive every cancellation: each completed request, and the requests
after the run, give exactly the greedy answer measured before it. Used by
``tests/reliability/test_load_local.py`` and ``benchmarks/soak.py``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from instructor_py import InstructorError, StructuredOutput

PROMPTS = (
    "Paris is the capital of France.",
    "Tokyo is the capital of Japan.",
    "Rome is the capital of Italy.",
    "Madrid is the capital of Spain.",
)


class City(BaseModel):
    city: str = Field(max_length=12)


@dataclass(frozen=True)
class LocalReport:
    requests: int
    seconds: float
    outcomes: Counter[str]
    problems: list[str]
    greedy: dict[str, str]


def _client() -> StructuredOutput[City]:
    return StructuredOutput().using("local").with_(response_model=City, max_retries=0)


def greedy_answers(so: StructuredOutput[City]) -> dict[str, str]:
    return {p: so.with_(messages=p).response().raw_text for p in PROMPTS}


def _cancel_in_thread(so: StructuredOutput[City], prompt: str, after: int) -> str:
    stream = so.with_(messages=prompt).stream()
    for seen, _ in enumerate(stream.partials(), start=1):
        if seen >= after:
            break
    stream.close()
    return "cancelled"


def _cancel_task(so: StructuredOutput[City], prompt: str, after: int) -> str:
    async def consume(started: asyncio.Event) -> None:
        seen = 0
        async with so.with_(messages=prompt).astream() as stream:
            async for _ in stream.partials():
                seen += 1
                if seen >= after:
                    started.set()
                await asyncio.sleep(0)

    async def main() -> str:
        started = asyncio.Event()
        task = asyncio.create_task(consume(started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "task_cancelled"
        return "finished_before_cancel"

    return asyncio.run(main())


def run_local(requests: int = 200, concurrency: int = 8) -> LocalReport:
    so = _client()
    greedy = greedy_answers(so)
    problems: list[str] = []

    def one(j: int) -> str:
        prompt = PROMPTS[(j // 25) % len(PROMPTS)]  # runs of one prompt, then a switch
        try:
            if j % 5 == 3:
                return _cancel_in_thread(so, prompt, after=1 + j % 4)
            if j % 5 == 4:
                return _cancel_task(so, prompt, after=1 + j % 3)
            text = so.with_(messages=prompt).response().raw_text
        except InstructorError as exc:
            problems.append(f"#{j}: {type(exc).__name__}: {exc}")
            return "error"
        except BaseException as exc:  # anything not ours is a defect
            problems.append(f"#{j}: crash {type(exc).__name__}: {exc}")
            return "crash"
        if text != greedy[prompt]:
            problems.append(f"#{j}: {text!r} is not the greedy answer {greedy[prompt]!r}")
        return "value"

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="local-load") as pool:
        outcomes = Counter(pool.map(one, range(requests)))
    seconds = time.perf_counter() - t0
    after = greedy_answers(so)
    if after != greedy:
        problems.append(f"greedy answers changed after the run: {greedy} -> {after}")
    provider: Any = so.resolve_provider()
    if provider.load().lock.locked():
        problems.append("the model lock is still held after the run")
    return LocalReport(requests, seconds, outcomes, problems, greedy)


def format_local(report: LocalReport) -> str:
    o = report.outcomes
    return "\n".join(
        [
            "| run | requests | completed | cancelled (close) | cancelled (task) | finished before cancel | errors | greedy answer after every cancellation | s |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| local | {report.requests} | {o['value']} | {o['cancelled']} | {o['task_cancelled']} | {o['finished_before_cancel']} | {o['error'] + o['crash']} | {'yes' if not report.problems else 'NO'} | {report.seconds:.1f} |",
        ]
    )
