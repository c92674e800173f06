"""``batch()`` against the loops a user would otherwise write, side by side in one run.

Remote: a scripted OpenAI-compatible server in a separate process answers every request after a
fixed latency (``--latency``, default 0.1 s, like a fast API); ``--items`` extractions run as a
plain ``for`` loop of ``get()``, as ``batch()`` at its default concurrency and at 16, as
``abatch()``, and as the hand-written alternatives (a ``ThreadPoolExecutor(8)`` mapping ``get()``,
``asyncio.gather`` of ``aget()`` under a ``Semaphore(8)``). We report wall time, items per second,
the speed-up over the loop, and the client's CPU time per item.

Local: ``--local-items`` short extractions on the embedded model, a loop of ``get()`` vs
``batch()`` (its default concurrency, 8). Every row runs ``--rounds`` times, interleaved, and
the tables show medians (the machine is shared: a busy neighbour slows all rows alike). The
local table also runs the loop in one worker thread, and ``batch(concurrency=1)``: llama.cpp's OpenMP threads spin-wait, and on a busy machine a decode called from the main
thread can be many times slower than the same decode from another thread (``OMP_WAIT_POLICY=
passive`` removes the gap), so compare ``batch()`` with the worker-thread loop for what batching
itself brings. The local provider decodes one request at a time today,
so this row measures the batch's own overhead; it becomes the speed-up once the local provider
decodes concurrent requests together.

    PYTHONPATH=. .venv/bin/python benchmarks/batch.py [--items 32] [--latency 0.1] [--local-items 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402

from instructor_py import StructuredOutput  # noqa: E402
from tests.support.servers.wire import openai_chat  # noqa: E402


class User(BaseModel):
    name: str
    age: int


class City(BaseModel):
    city: str
    country: str


def start_server(latency: float) -> tuple[subprocess.Popen[str], int]:
    body = openai_chat(tool_args=json.dumps({"name": "Jason", "age": 25}), tool_name="User")
    reply = Path(tempfile.mkdtemp()) / "reply.json"
    reply.write_text(json.dumps(body))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.servers.serve", "--reply", str(reply), "--delay", str(latency)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, int(line.split()[1])


def measure(run: Callable[[], list[Any]], items: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    results = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(results) == items and not failed, failed[:1]
    return wall, cpu


def rounds(
    runs: list[tuple[str, Callable[[], list[Any]]]], items: int, count: int
) -> list[tuple[str, float, float]]:
    """Each run ``count`` times, interleaved (run 1, run 2, ..., run 1, ...), so a busy machine
    slows every row alike; the median wall and CPU time of each."""
    walls: dict[str, list[float]] = {name: [] for name, _ in runs}
    cpus: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(count):
        for name, run in runs:
            wall, cpu = measure(run, items)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return [(n, statistics.median(walls[n]), statistics.median(cpus[n])) for n, _ in runs]


def table(title: str, rows: list[tuple[str, float, float]], items: int) -> None:
    base = rows[0][1]
    print(f"\n{title}\n")
    print("| how | wall s | items/s | vs loop | client CPU ms/item |")
    print("|---|---|---|---|---|")
    for name, wall, cpu in rows:
        print(
            f"| {name} | {wall:.2f} | {items / wall:.1f} | {base / wall:.2f}x | "
            f"{1000 * cpu / items:.2f} |"
        )


def remote(items: int, latency: float, count: int) -> None:
    process, port = start_server(latency)
    try:
        builder = (
            StructuredOutput()
            .using("openai", api_key="sk-bench", base_url=f"http://127.0.0.1:{port}/v1", model="m")
            .with_(response_model=User)
        )
        inputs = [f"Jason is 25 ({i})" for i in range(items)]
        builder.with_(messages="warm up").get()

        def loop() -> list[Any]:
            return [builder.with_(messages=text).response() for text in inputs]

        def pool() -> list[Any]:
            with ThreadPoolExecutor(8) as executor:
                return list(executor.map(lambda t: builder.with_(messages=t).response(), inputs))

        async def gathered() -> list[Any]:
            gate = asyncio.Semaphore(8)

            async def one(text: str) -> Any:
                async with gate:
                    return await builder.with_(messages=text).aresponse()

            return await asyncio.gather(*(one(t) for t in inputs))

        runs: list[tuple[str, Callable[[], list[Any]]]] = [
            ("for loop of get()", loop),
            ("batch() (default: 8)", lambda: builder.batch(inputs)),
            ("batch(concurrency=16)", lambda: builder.batch(inputs, concurrency=16)),
            ("abatch() (default: 8)", lambda: asyncio.run(builder.abatch(inputs))),
            ("ThreadPoolExecutor(8).map(get)", pool),
            ("asyncio.gather(aget) + Semaphore(8)", lambda: asyncio.run(gathered())),
        ]
        rows = rounds(runs, items, count)
        table(f"Remote: {items} extractions, {latency * 1000:.0f} ms server latency", rows, items)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def local(items: int, count: int) -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("\nLocal: skipped (the local extra, llama-cpp-python, is not installed)")
        return
    places = [("Paris", "France"), ("Berlin", "Germany"), ("Rome", "Italy"), ("Madrid", "Spain")]
    inputs = [f"{c} is a city in {k}." for c, k in (places[i % len(places)] for i in range(items))]
    builder = StructuredOutput().using("local").with_(
        response_model=City, max_retries=0, options={"max_tokens": 32}
    )
    builder.with_(messages="warm up: Oslo is in Norway.").get()  # load the model first
    def loop() -> list[Any]:
        return [builder.with_(messages=t).response() for t in inputs]

    def loop_in_a_thread() -> list[Any]:
        box: list[list[Any]] = []
        thread = threading.Thread(target=lambda: box.append(loop()))
        thread.start()
        thread.join()
        return box[0]

    runs: list[tuple[str, Callable[[], list[Any]]]] = [
        ("for loop of get()", loop),
        ("batch() (default: 8)", lambda: builder.batch(inputs)),
        ("for loop of get(), in one worker thread", loop_in_a_thread),
        ("batch(concurrency=1)", lambda: builder.batch(inputs, concurrency=1)),
    ]
    rows = rounds(runs, items, count)
    table(f"Local (embedded SmolLM2-135M): {items} extractions", rows, items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--local-items", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    remote(args.items, args.latency, args.rounds)
    if args.local_items:
        local(args.local_items, args.rounds)


if __name__ == "__main__":
    main()
