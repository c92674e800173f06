"""Streaming partials of a messy answer (tolerant reading) beside the same answer as strict JSON.

A list of N users is streamed in 6-byte chunks through ``StructuredOutput().stream().partials()``
(in-process provider, as in ``benchmarks/streaming.py``): once as strict JSON (the incremental
parser), once written the way small models write it (unquoted keys, single quotes, a trailing
comma, inside a fence after prose), which the tolerant reading handles by reading the text again
each time it has grown by 1/8 (the total stays linear). CPU time, best of the repeats.

    PYTHONPATH=. python benchmarks/streaming_messy.py [--sizes 50,100,200,400] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import ChunkProvider, chunks_of

from instructor_py import OutputMode, StructuredOutput


class User(BaseModel):
    id: int
    name: str
    email: str
    active: bool


class Users(BaseModel):
    items: list[User]


def clean(n: int) -> str:
    users = [{"id": i, "name": f"User {i}", "email": f"u{i}@example.com", "active": i % 2 == 0} for i in range(n)]
    return json.dumps({"items": users})


def messy(n: int) -> str:
    users = [
        f"{{id: {i}, name: 'User {i}', email: 'u{i}@example.com', active: {i % 2 == 0}}}" for i in range(n)
    ]
    return "Sure! Here they are:\n```json\n{items: [" + ",\n".join(users) + ",]}\n```\nDone."


def run(text: str) -> tuple[float, int, Any]:
    client = (
        StructuredOutput()
        .with_provider(ChunkProvider(chunks_of(text)))
        .with_(messages="list the users", response_model=Users, mode=OutputMode.JSON)
    )
    gc.collect()
    start = time.process_time()
    stream = client.stream()
    count = sum(1 for _ in stream.partials())
    final = stream.final_value()
    return time.process_time() - start, count, final


def reread(text: str) -> tuple[int, float]:
    """Tolerant readings of ``text`` streamed in 6-byte chunks, and characters read per byte."""
    from instructor_py.pipeline.stages import tolerant_schema
    from instructor_py.response_models import to_response_model
    from instructor_py.streaming.assembler import StreamAssembler
    from instructor_py.streaming.spec import partial_spec
    from instructor_py.streaming.tolerant import TolerantAssembler

    model = to_response_model(Users)
    spec = partial_spec(model)
    strict = StreamAssembler(spec.object_shape, events=True)
    assembler = TolerantAssembler(strict, tolerant_schema(model), shape=spec.object_shape)
    for chunk in chunks_of(text):
        assembler.feed(chunk)
        assembler.snapshot()
    return assembler.reads, assembler.read_chars / len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,100,200,400")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header = f"{'N':>5} {'clean bytes':>11} {'clean ms':>9} {'partials':>8} {'messy bytes':>11} {'messy ms':>9} {'partials':>8} {'messy/clean':>11} {'messy t(N)/t(N/2)':>17} {'reads':>5} {'chars read/byte':>15}"
    print(header)
    print("-" * len(header))
    previous = None
    for n in sizes:
        a, b = clean(n), messy(n)
        best_a = best_b = float("inf")
        for _ in range(args.repeat):
            ta, ca, fa = run(a)
            tb, cb, fb = run(b)
            best_a, best_b = min(best_a, ta), min(best_b, tb)
        assert fa == fb == Users.model_validate_json(a)
        growth = f"{best_b / previous:.2f}" if previous else "-"
        reads, per_byte = reread(b)
        previous = best_b
        print(
            f"{n:>5} {len(a):>11} {best_a * 1000:>9.1f} {ca:>8} {len(b):>11} {best_b * 1000:>9.1f} "
            f"{cb:>8} {best_b / best_a:>10.1f}x {growth:>17} {reads:>5} {per_byte:>15.1f}"
        )


if __name__ == "__main__":
    main()
