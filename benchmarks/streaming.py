"""Streaming partials: instructor_py vs Python ``instructor``'s ``Partial[...]``, side by side.

A JSON document of N list items (about 80 bytes each) is streamed in 6-byte chunks. instructor_py
runs it through the code path behind ``stream().partials()`` (StreamAssembler: locator ->
incremental parser -> partial twin snapshots, one snapshot per chunk that changed something);
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
from pathlib import Path
from typing import Any

from pydantic import BaseModel

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


def run_ours(chunks: list[str]) -> tuple[float, int, Any]:
    from instructor_py.streaming import MISSING, StreamAssembler, model_shape

    gc.collect()
    start = time.process_time()
    assembler = StreamAssembler(model_shape(Items))
    count = 0
    last: Any = None
    for chunk in chunks:
        assembler.feed(chunk)
        snap = assembler.snapshot()
        if snap is not MISSING:
            count += 1
            last = snap
    elapsed = time.process_time() - start
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
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours per size (best kept)")
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
    header = f"{'N':>6} {'bytes':>8} {'chunks':>7} {'ours':>10} {'instructor':>12} {'ratio':>8} {'ours t(N)/t(N/2)':>17}"
    print(header)
    print("-" * len(header))
    previous: float | None = None
    skipping = not have_instructor
    for n in sizes:
        text = document(n)
        chunks = chunks_of(text)
        best = float("inf")
        last: Any = None
        for _ in range(args.repeat):
            elapsed, _count, last = run_ours(chunks)
            best = min(best, elapsed)
        expected = Items.model_validate_json(text).model_dump()
        if last is None or last.model_dump() != expected:
            raise SystemExit(f"instructor_py produced a wrong final snapshot for N={n}")
        theirs = "n/a"
        ratio = "n/a"
        if not skipping:
            result = run_instructor(python, text, args.cap)
            if result is None:
                skipping = True
                theirs = f"skipped (>{args.cap:.0f} s)"
            else:
                if not result["ok"]:
                    raise SystemExit(f"instructor produced a wrong final object for N={n}")
                theirs = f"{result['seconds']:.2f} s"
                ratio = f"{result['seconds'] / best:.0f}x"
        elif have_instructor:
            theirs = f"skipped (>{args.cap:.0f} s)"
        growth = f"{best / previous:.2f}" if previous else "-"
        print(
            f"{n:>6} {len(text):>8} {len(chunks):>7} {best * 1000:>8.1f}ms {theirs:>12} {ratio:>8} {growth:>17}"
        )
        previous = best
    sys.stdout.flush()


if __name__ == "__main__":
    main()
