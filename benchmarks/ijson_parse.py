"""ijson's C backend (yajl2_c) against what instructor_py uses, side by side in one run.

Two jobs on a JSON answer ``{"items": [...]}`` of N items (about 100 bytes each; N=10000 is
about 1 MB):

- **sequence()**: the answer streams in D-byte deltas; each list item must come out as soon as it
  is complete. Ours: the :class:`~instructor_py.streaming.assembler.StreamAssembler` (locator +
  incremental parser, item events; snapshots off, and on as when ``partials()`` is watched too).
  ijson: ``items_coro`` fed the same deltas (its push interface), items from ``items.item``.
  "ours, items via ijson": the assembler with ``items_only=True`` (what ``sequence()`` alone now
  runs: the locator in front of ijson's parser); its ratio is against the first "ours" column.
- **final parse**: the complete answer text to Python data. Ours: the pipeline's extraction
  (``json`` with ``strict=False``, C accelerated). ijson: ``ijson.items(text, "")``.

CPU seconds (``time.process_time``), best of R rounds, both checked to produce the same items.

    .venv/bin/python benchmarks/ijson_parse.py [--sizes 1000,10000] [--deltas 6,64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from instructor_py.pipeline.extraction import extract_json
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.shapes import RAW_SHAPE


def document(n: int) -> str:
    items = [
        {"id": i, "name": f"User {i}", "email": f"user{i}@example.com", "score": i / 4, "ok": i % 2 == 0}
        for i in range(n)
    ]
    return json.dumps({"items": items})


def ours_sequence(chunks: list[str], *, snapshots: bool, items_only: bool = False) -> list[Any]:
    assembler = StreamAssembler(
        RAW_SHAPE, snapshots=snapshots, sequence_path=("items",), items_only=items_only
    )
    out: list[Any] = []
    for chunk in chunks:
        assembler.feed(chunk)
        if snapshots:
            assembler.snapshot()
        out.extend(event.value for event in assembler.pop_items())
    return out


def ijson_sequence(chunks: list[bytes]) -> list[Any]:
    import ijson

    out: list[Any] = []
    sink = ijson.sendable_list()
    coro = ijson.items_coro(sink, "items.item", use_float=True)
    for chunk in chunks:
        coro.send(chunk)
        if sink:
            out.extend(sink)
            del sink[:]
    coro.close()
    out.extend(sink)
    return out


def ours_final(text: str) -> Any:
    found = extract_json(text)
    assert found is not None
    return found.value


def ijson_final(text: str) -> Any:
    import ijson

    return next(ijson.items(text.encode(), "", use_float=True))


def best(fn: Callable[..., Any], rounds: int, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    result: Any = None
    fastest = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        result = fn(*args, **kwargs)
        fastest = min(fastest, time.process_time() - start)
    return fastest, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--deltas", default="6,64")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import ijson

    print(f"ijson backend: {ijson.backend}; CPU seconds, best of {args.rounds}\n")
    print(f"{'job':<36}{'N':>7}{'bytes':>9}{'ours':>8}{'ijson':>8}{'ratio':>7}"
          f"{'ours, items via ijson':>23}{'ratio':>7}")  # fmt: skip
    for n in (int(s) for s in args.sizes.split(",")):
        text = document(n)
        expected = json.loads(text)["items"]
        for size in (int(d) for d in args.deltas.split(",")):
            chunks = [text[i : i + size] for i in range(0, len(text), size)]
            raw = [c.encode() for c in chunks]
            t_ij, items = best(ijson_sequence, args.rounds, raw)
            assert items == expected
            t_via, items = best(ours_sequence, args.rounds, chunks, snapshots=False, items_only=True)
            assert items == expected
            for snapshots in (False, True):
                t_ours, items = best(ours_sequence, args.rounds, chunks, snapshots=snapshots)
                assert items == expected
                label = f"sequence(), {size}-byte deltas" + (" (+snapshots)" if snapshots else "")
                print(f"{label:<36}{n:>7}{len(text):>9}{t_ours:>8.3f}{t_ij:>8.3f}"
                      f"{t_ij / t_ours:>7.2f}{t_via:>23.3f}{t_via / t_ours:>7.2f}")  # fmt: skip
        t_ours, value = best(ours_final, args.rounds, text)
        assert value["items"] == expected
        t_ij, value = best(ijson_final, args.rounds, text)
        assert value["items"] == expected
        print(f"{'final parse (whole text)':<36}{n:>7}{len(text):>9}{t_ours:>8.3f}{t_ij:>8.3f}"
              f"{t_ij / t_ours:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
