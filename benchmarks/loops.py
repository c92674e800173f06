"""Runaway loops on the embedded model: how many attempts run to ``max_tokens``, before and after
loop detection and varied retries, side by side in one run.

Two sets: an invoice-style set (free strings, optional fields, unbounded lists: where a greedy
135M model repeats itself) and an even spread of the BFCL simple_python dev split. Columns:

- ``before``: the loop machinery off: ``stop_repetition=False`` (a loop runs until
  ``max_tokens``) and greedy retries (``retry_temperature=0, retry_repeat_penalty=1``);
- ``retry``: a loop ends its attempt early as a failed attempt naming the field, and retries
  sample at a raised temperature with a repetition penalty and their own seed
  (``resume_loops=False``);
- ``after``: the defaults: as ``retry``, but an answer that falls into a loop first keeps its
  valid part and resumes from it within the attempt (``resume_loops``); ``resumed`` counts them.

Printed per set and column: attempts, the share that ran to ``max_tokens``, the share ended as a
loop, calls that returned a value, and wall per call.

    PYTHONPATH=. .venv/bin/python benchmarks/loops.py [--bfcl N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl import sample
from bfcl_support import find_bfcl_dir, load_cases
from results import Table, save

from instructor_py import StructuredOutput, StructuredOutputRetryError

REPO = Path(__file__).resolve().parent.parent


class LineItem(BaseModel):
    description: str
    quantity: int
    unit_price: float


class Invoice(BaseModel):
    invoice_number: str
    customer: str
    items: list[LineItem]
    total: float
    notes: str | None = None


class Contact(BaseModel):
    name: str
    email: str | None = None
    phone: str | None = None
    message: str


class Meeting(BaseModel):
    title: str
    attendees: list[str]
    topics: list[str]
    summary: str


INVOICES: list[tuple[str, type[BaseModel]]] = [
    ("Invoice INV-0042 for Acme Corp: 2 boxes of paper at 12.50 each, 1 stapler at 8.99. Total 33.99.", Invoice),
    ("Bill no. 7781 to Globex Ltd. Items: 10 hours of consulting at 95/hour. Total due 950.", Invoice),
    ("Receipt R-19 for Jane Park: 3 coffees (3.20 each) and a bagel (2.50), total 12.10, paid cash.", Invoice),
    ("Invoice 2024-117, customer Initech. 5 licenses at 49 each and setup at 150. Amount 395. Net 30.", Invoice),
    ("The weather is nice today.", Contact),
    ("Hi, this is Tom Baker, call me back about the order.", Contact),
    ("Weekly sync with Ana, Raj and Li: we covered the roadmap and hiring; we agreed to ship in May.", Meeting),
    ("Standup: Bob and Eve. Topics: bug 431, release notes. Short meeting.", Meeting),
]  # fmt: skip

BEFORE = {"stop_repetition": False, "retry_temperature": 0, "retry_repeat_penalty": 1}
RETRY = {"resume_loops": False}


@dataclass
class Column:
    attempts: int = 0
    length: int = 0
    loops: int = 0
    resumed: int = 0
    values: int = 0
    calls: int = 0
    walls: list[float] = field(default_factory=list)

    def run(self, so: StructuredOutput, messages: Any, model: Any) -> None:
        t0 = time.perf_counter()
        try:
            response = so.with_(messages=messages, response_model=model).create().response()
            attempts = response.attempts
            self.values += 1
        except StructuredOutputRetryError as exc:
            attempts = tuple(exc.attempts)
        self.walls.append(time.perf_counter() - t0)
        self.calls += 1
        for attempt in attempts:
            reason = getattr(attempt.raw_response, "finish_reason", None)
            self.attempts += 1
            self.length += reason == "length"
            self.loops += reason == "repetition"
            self.resumed += bool(getattr(attempt.raw_response, "resumed_after_loop", False))

    def row(self, name: str) -> str:
        return (
            f"  {name:<8} {self.attempts:8d} {100 * self.length / max(1, self.attempts):10.1f}% "
            f"{100 * self.loops / max(1, self.attempts):9.1f}% {self.resumed:8d} "
            f"{self.values:4d}/{self.calls:<4d} "
            f"{statistics.mean(self.walls):9.2f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bfcl", type=int, default=30, help="BFCL cases (an even spread)")
    args = parser.parse_args(argv)
    sets: list[tuple[str, list[tuple[Any, Any]]]] = [("invoice-style", list(INVOICES))]
    directory = find_bfcl_dir(REPO)
    if directory is not None and args.bfcl:
        cases = sample(load_cases(directory), args.bfcl)
        sets.append(("BFCL dev", [(c.messages(), c.schema) for c in cases]))
    ways = {
        "before": StructuredOutput().using("local", **BEFORE),
        "retry": StructuredOutput().using("local", **RETRY),
        "after": StructuredOutput(),
    }
    tables = []
    for name, items in sets:
        cols = {key: Column() for key in ways}
        for i, (messages, model) in enumerate(items):
            order = list(ways.items())
            k = i % len(order)
            for key, so in order[k:] + order[:k]:
                cols[key].run(so, messages, model)
        print(f"\n{name}: {len(items)} calls, max_tokens 1024, max_retries 2")
        print(f"  {'column':<8} {'attempts':>8} {'to max_tok':>11} {'loop':>10} {'resumed':>8} "
              f"{'values':>9} {'wall/call':>11}")  # fmt: skip
        for key, col in cols.items():
            print(col.row(key))
        tables.append(
            Table(
                f"{name}: {len(items)} calls, max_tokens 1024, max_retries 2",
                ["column", "attempts", "to max_tokens %", "ended as a loop %", "resumed",
                 "values", "wall/call (s)"],
                [[key, c.attempts, round(100 * c.length / max(1, c.attempts), 1),
                  round(100 * c.loops / max(1, c.attempts), 1), c.resumed,
                  f"{c.values}/{c.calls}", round(statistics.mean(c.walls), 2)]
                 for key, c in cols.items()],
            )
        )  # fmt: skip
    save("loops", tables, [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
