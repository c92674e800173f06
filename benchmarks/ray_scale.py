"""Throughput of ``instructor_py.integrations.ray.extract_dataset`` with 1, 2 and 4 Ray workers,
against ``batch()`` on one machine, side by side in one run.

A loopback OpenAI-compatible server in a process of its own (:mod:`tests.support.batch_api`)
answers every chat completion after a fixed ``--latency`` (like an inference server under load).
``--rows`` rows are extracted by ``batch(concurrency=C)`` in this process, then by
``extract_dataset(workers=W, concurrency=C)`` on a local Ray (``ray.init(num_cpus=2)``; each
actor asks for 0.5 CPU, the work is waiting on the server). Each row runs ``--rounds`` times,
interleaved; the table shows the median wall time, rows per second and the speed-up over
``batch()``. Ray's start-up and each actor pool's start are outside the timed part only for the
first (warm-up) pass; every timed pass starts its actors itself, as a user's job would.

    PYTHONPATH=. .venv/bin/python benchmarks/ray_scale.py [--rows 240] [--latency 0.05] [--concurrency 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import ray  # noqa: E402

from instructor_py import StructuredOutput  # noqa: E402
from instructor_py.integrations.ray import extract_dataset  # noqa: E402
from tests.support.batch_models import Person  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.batch_api", "--latency", str(latency), "--lifetime", "1200"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("URL "):
        raise RuntimeError(f"the loopback server did not start: {line!r}")
    return proc, line.split()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    proc, url = start_server(args.latency)
    try:
        builder = StructuredOutput().using("openai", api_key="sk-bench", base_url=url + "/v1").with_(
            response_model=Person, max_retries=0
        )
        inputs = [f"Ann is {i}" for i in range(args.rows)]
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
        ray.data.DataContext.get_current().enable_progress_bars = False
        blocks = 8
        dataset = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(inputs)],
                                      override_num_blocks=blocks)
        batch_size = max(1, args.rows // blocks)

        def run_batch() -> int:
            results = builder.batch(inputs, concurrency=args.concurrency)
            return sum(not isinstance(r, Exception) for r in results)

        def run_ray(workers: int) -> int:
            out = extract_dataset(dataset, builder, workers=workers, concurrency=args.concurrency,
                                  batch_size=batch_size)
            rows = out.take_all()
            assert len(rows) == args.rows and len({r["id"] for r in rows}) == args.rows
            return sum(r["error"] is None for r in rows)

        setups: list[tuple[str, Any]] = [("batch() on one machine", run_batch)]
        setups += [(f"Ray, {w} worker{'s' if w > 1 else ''}", (lambda w=w: run_ray(w))) for w in (1, 2, 4)]
        run_ray(1)  # warm-up: Ray's workers and imports
        times: dict[str, list[float]] = {name: [] for name, _ in setups}
        for _ in range(args.rounds):
            for name, fn in setups:
                start = time.perf_counter()
                ok = fn()
                times[name].append(time.perf_counter() - start)
                assert ok == args.rows, (name, ok)
        base = statistics.median(times[setups[0][0]])
        print(f"\n{args.rows} rows, {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency} "
              f"per worker, median of {args.rounds}\n")
        print("| setup | wall (s) | rows/s | vs batch() |")
        print("|---|---:|---:|---:|")
        for name, _ in setups:
            wall = statistics.median(times[name])
            print(f"| {name} | {wall:.2f} | {args.rows / wall:.0f} | {base / wall:.2f}x |")
    finally:
        ray.shutdown()
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
