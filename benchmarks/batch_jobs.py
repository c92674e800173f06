"""A provider batch job's round trip on the loopback batch API, killed right after its create and
resumed in another process, against running the same items live with ``batch()``.

The loopback server (:mod:`tests.support.batch_api`, OpenAI's Files + Batches API or Anthropic's
Message Batches) answers every request after ``--latency`` seconds and ends a batch on its
``--steps``-th retrieve. Phases, for each vendor:

1. a child process submits ``--items`` items; the server creates the batch and holds the answer;
   the child is SIGKILLed before it could record the batch id (the worst moment);
2. this process resumes the job (``BatchJob.resume``): it finds the batch by its metadata (OpenAI)
   or by time, size and custom ids (Anthropic) instead of creating a second one;
3. ``job.wait(poll_interval=0.05)``; 4. ``job.results()`` (download, store, parse every item);
5. ``results()`` from a fresh resume (read from the store, no download).

The alternative is ``batch(concurrency=8)`` of the same items as live calls. The table shows each
phase's wall time, the HTTP requests each way and the batch creates (always 1). Price is not
measured here: both vendors bill batch tokens at half the live price.

    PYTHONPATH=. .venv/bin/python benchmarks/batch_jobs.py [--items 200] [--latency 0.02] [--steps 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from instructor_py import BatchJob, JobStore, StructuredOutput  # noqa: E402
from tests.support.batch_api import BatchAPIServer  # noqa: E402
from tests.support.batch_models import Person  # noqa: E402

KEY = "sk-bench-0123456789"


def one(vendor: str, items: int, latency: float, steps: int) -> list[tuple[str, float, int | str]]:
    rows: list[tuple[str, float, int | str]] = []
    with BatchAPIServer(latency=latency, steps_to_finish=steps, lifetime=900) as server, tempfile.TemporaryDirectory() as tmp:
        url = server.base_url + ("/v1" if vendor == "openai" else "")
        store = Path(tmp) / "jobs.sqlite"
        server.hold_create = threading.Event()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.batch_submit_child", vendor, url, str(store), str(items)],
            cwd=REPO, env=env, stderr=subprocess.DEVNULL,
        )
        if not server.created.wait(timeout=120):
            child.kill()
            raise RuntimeError("the child never created its batch")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        server.hold_create.set()
        rows.append(("submit in a child, killed after the create", time.perf_counter() - start, sum(server.calls.values())))

        os.environ["OPENAI_API_KEY" if vendor == "openai" else "ANTHROPIC_API_KEY"] = KEY
        (job_id,) = JobStore(store).job_ids()
        before = sum(server.calls.values())
        start = time.perf_counter()
        job = BatchJob.resume(job_id, store=store)
        rows.append(("resume: find the batch, adopt it", time.perf_counter() - start, sum(server.calls.values()) - before))

        before = sum(server.calls.values())
        start = time.perf_counter()
        job.wait(poll_interval=0.05, timeout=120)
        rows.append(("wait (poll until it ends)", time.perf_counter() - start, sum(server.calls.values()) - before))

        before = sum(server.calls.values())
        start = time.perf_counter()
        results = job.results()
        rows.append(("results: download, store, parse", time.perf_counter() - start, sum(server.calls.values()) - before))
        assert all(not isinstance(r, Exception) for r in results), [r for r in results if isinstance(r, Exception)][:2]

        before = sum(server.calls.values())
        start = time.perf_counter()
        again = BatchJob.resume(job_id, store=store).results()
        rows.append(("results again, another reader (from the store)", time.perf_counter() - start, sum(server.calls.values()) - before))
        assert [r.value for r in again] == [r.value for r in results]  # type: ignore[union-attr]
        creates = server.count(f"{vendor}.create")
        assert creates == 1, creates
        job_requests = sum(server.calls.values())
        rows.append(("batch job, total", sum(r[1] for r in rows), f"{job_requests} requests, {creates} create"))

        builder = StructuredOutput().using(vendor, api_key=KEY, base_url=url).with_(response_model=Person, check_stream=False)
        inputs = [f"Person{chr(97 + i % 26)} is {20 + i}".capitalize() for i in range(items)]
        before = sum(server.calls.values())
        start = time.perf_counter()
        live = builder.batch(inputs, concurrency=8)
        assert all(not isinstance(r, Exception) for r in live)
        rows.append(("live batch(concurrency=8), same items", time.perf_counter() - start, f"{sum(server.calls.values()) - before} requests"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    for vendor in ("openai", "anthropic"):
        rows = one(vendor, args.items, args.latency, args.steps)
        print(f"\n{vendor}: {args.items} items, {args.latency * 1000:.0f} ms per HTTP request, the batch ends on retrieve {args.steps}\n")
        print("| phase | wall (s) | HTTP requests |")
        print("|---|---:|---:|")
        for name, wall, requests in rows:
            print(f"| {name} | {wall:.2f} | {requests} |")


if __name__ == "__main__":
    main()
