"""Streaming partials: instructor_py vs Python ``instructor``'s ``Partial[...]``, side by side.

A JSON document of N list items (about 80 bytes each) is streamed in 6-byte chunks. instructor_py
runs it through ``StructuredOutput().stream().partials()`` and ``final_value()`` with an
in-process provider yielding the chunks as deltas (locator -> incremental parser -> partial twin
snapshots, one per chunk that changed something, then the full response pipeline);
``instructor`` runs ``Partial[Model].model_from_chunks`` on the same chunks (it re-parses the
whole buffer per chunk). Times are CPU time of the measuring process (``time.process_time``),
which stays meaningful on a loaded machine. Both build a partial pydantic object per chunk; both final objects are
checked against the expected value.

instructor runs in its own venv (env ``INSTRUCTOR_BENCH_PYTHON``, default
``<repo>/.venv-bench/bin/python``), one subprocess per size with a time cap: once a size exceeds
the cap, larger sizes are skipped. Usage::

    PYTHONPATH=. python benchmarks/streaming.py [--cap 60] [--sizes 250,500,1000,2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from instructor_py import OutputMode, StructuredOutput, Usage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import Chart, Table, save

from instructor_py.providers.base import InferenceDelta, InferenceRequest, InferenceResponse

CHUNK = 6
REPO = Path(__file__).resolve().parents[1]


class Item(BaseModel):
    id: int
    name: str
    email: str
    score: float


class Items(BaseModel):
    items: list[Item]


def document(n: int) -> str:
    items = [
        {
            "id": i,
            "name": f"User {i}",
            "email": f"u{i}@example.com",
            "score": i / 4,
        }
        for i in range(n)
    ]
    return json.dumps({"items": items})


def chunks_of(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]


class ChunkProvider:
    """An in-process provider streaming a fixed text in fixed-size deltas (no network), so the
    measurement is the SDK's streaming path: session, locator, parser, snapshots, final pipeline."""

    name = "bench"
    default_model = "bench"
    default_mode = OutputMode.JSON
    supported_modes = frozenset({OutputMode.JSON})

    def __init__(self, chunks: list[str]) -> None:
        self.deltas = [InferenceDelta(content=c) for c in chunks]
        self.deltas.append(InferenceDelta(finish_reason="stop", usage=Usage(10, len(chunks))))

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        raise NotImplementedError

    async def ainfer(self, request: InferenceRequest) -> InferenceResponse:
        raise NotImplementedError

    def stream(self, request: InferenceRequest) -> Iterator[InferenceDelta]:
        return iter(self.deltas)

    def astream(self, request: InferenceRequest) -> AsyncIterator[InferenceDelta]:
        raise NotImplementedError


def run_ours(chunks: list[str]) -> tuple[float, int, Any]:
    """``stream().partials()`` then ``final_value()``, through the public API."""
    client = (
        StructuredOutput()
        .with_provider(ChunkProvider(chunks))
        .with_(messages="list the users", response_model=Items, mode=OutputMode.JSON)
    )
    gc.collect()
    start = time.process_time()
    stream = client.stream()
    count = 0
    last: Any = None
    for partial in stream.partials():
        count += 1
        last = partial
    final = stream.final_value()
    elapsed = time.process_time() - start
    assert isinstance(final, Items) and last is not None
    return elapsed, count, last


_CHILD = r"""
import json, sys, time
from pydantic import BaseModel
import instructor

class Item(BaseModel):
    id: int
    name: str
    email: str
    score: float

class Items(BaseModel):
    items: list[Item]

text = sys.stdin.read()
chunk = int(sys.argv[1])
chunks = [text[i:i + chunk] for i in range(0, len(text), chunk)]
start = time.process_time()
count = 0
last = None
for obj in instructor.Partial[Items].model_from_chunks(iter(chunks)):
    count += 1
    last = obj
elapsed = time.process_time() - start
ok = last is not None and last.model_dump() == Items.model_validate_json(text).model_dump()
print(json.dumps({"seconds": elapsed, "count": count, "ok": ok, "version": instructor.__version__}))
"""


def run_instructor(python: str, text: str, cap: float) -> dict[str, Any] | None:
    """Seconds for instructor, or None if it exceeded ``cap``."""
    try:
        proc = subprocess.run(
            [python, "-c", _CHILD, str(CHUNK)],
            input=text,
            capture_output=True,
            text=True,
            timeout=cap + 15,  # interpreter + import time on top of the measured loop
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["seconds"] > cap:
        return None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per size for instructor")
    parser.add_argument("--sizes", default="250,500,1000,2000")
    parser.add_argument("--repeat", type=int, default=15, help="runs of ours per size (best kept)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    python = os.environ.get("INSTRUCTOR_BENCH_PYTHON", str(REPO / ".venv-bench" / "bin" / "python"))
    have_instructor = Path(python).exists()
    if not have_instructor:
        print(
            f"instructor column skipped: no benchmark interpreter at {python} "
            "(set INSTRUCTOR_BENCH_PYTHON to a Python with instructor installed)"
        )

    print(
        f"{CHUNK}-byte chunks, one partial pydantic snapshot per chunk that changes something; "
        f"CPU seconds (process time; ours: best of {args.repeat}, instructor: one run)"
    )
    header = (
        f"{'N':>6} {'bytes':>8} {'chunks':>7} {'ours':>10} {'instructor':>16} {'ratio':>8} "
        f"{'ours t(N)/t(N/2)':>17}"
    )
    print(header)
    print("-" * len(header))
    texts = {n: document(n) for n in sizes}
    best = dict.fromkeys(sizes, float("inf"))
    for _ in range(args.repeat):  # round-robin, so load changes hit every size alike
        for n in sizes:
            elapsed, _count, last = run_ours(chunks_of(texts[n]))
            best[n] = min(best[n], elapsed)
            if last.model_dump() != Items.model_validate_json(texts[n]).model_dump():
                raise SystemExit(f"instructor_py produced a wrong final snapshot for N={n}")
    previous: float | None = None
    skipping = not have_instructor
    rows: list[list[Any]] = []
    theirs_seconds: list[float | None] = []
    for n in sizes:
        text = texts[n]
        ours = best[n]
        theirs = "n/a"
        ratio = "n/a"
        if not skipping:
            result = run_instructor(python, text, args.cap)
            if result is None:
                skipping = True
                theirs = f"skipped (>{args.cap:.0f} s)"
                ratio = f">{args.cap / ours:.0f}x"
            else:
                if not result["ok"]:
                    raise SystemExit(f"instructor produced a wrong final object for N={n}")
                theirs = f"{result['seconds']:.2f} s"
                ratio = f"{result['seconds'] / ours:.0f}x"
                theirs_seconds.append(result["seconds"])
        elif have_instructor:
            theirs = f"skipped (>{args.cap:.0f} s)"
        growth = f"{ours / previous:.2f}" if previous else "-"
        chunks = len(chunks_of(text))
        print(
            f"{n:>6} {len(text):>8} {chunks:>7} {ours * 1000:>8.1f}ms {theirs:>16} {ratio:>8} "
            f"{growth:>17}"
        )
        previous = ours
        rows.append([n, len(text), chunks, round(ours * 1000, 1), theirs, ratio, growth])
        if len(theirs_seconds) < len(rows):
            theirs_seconds.append(None)
    sys.stdout.flush()
    save(
        "streaming",
        [Table("partials per document size (CPU)", [
            "N", "bytes", "chunks", "ours (ms)", "instructor", "ratio", "ours t(N)/t(N/2)"], rows)],
        [
            Chart(
                "streaming-time",
                "Streamed partials: CPU seconds per document (lower is better)",
                "line",
                [len(texts[n]) for n in sizes],
                {
                    "instructor_py": [best[n] for n in sizes],
                    "instructor 1.17": theirs_seconds,
                },
                xlabel="document size (bytes)",
                ylabel="CPU seconds",
                log_y=True,
                note="instructor: one run, skipped past the cap; instructor_py: best of the repeats",
            )
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
