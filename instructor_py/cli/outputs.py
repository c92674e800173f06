"""Writing results: one JSON line per input, in input order."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from pydantic_core import to_jsonable_python

from instructor_py.cli.common import UsageError
from instructor_py.client.batch import BatchResult


@contextlib.contextmanager
def open_output(target: str) -> Iterator[IO[str]]:
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        out = open(target, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"--output: cannot write {target!r} ({error.strerror})") from None
    with out:
        yield out


class OrderedWriter:
    """Writes each result as soon as every earlier one is written (called by the batch, one
    call at a time)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._next = 0
        self._waiting: dict[int, BatchResult[Any]] = {}

    def add(self, index: int, outcome: BatchResult[Any]) -> None:
        self._waiting[index] = outcome
        while self._next in self._waiting:
            record = result_record(self._next, self._waiting.pop(self._next))
            self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._next += 1
        self._out.flush()


def result_record(index: int, outcome: BatchResult[Any]) -> dict[str, Any]:
    """The output line of one item: ``{"index", "value"}`` or ``{"index", "error",
    "error_type", "attempts"}``."""
    if not isinstance(outcome, Exception):
        return {"index": index, "value": to_jsonable_python(outcome.value, fallback=str)}
    attempts = getattr(outcome, "attempts", ()) or ()
    return {
        "index": index,
        "error": str(outcome),
        "error_type": type(outcome).__name__,
        "attempts": [
            {
                "index": a.index,
                "content": a.content,
                "errors": list(a.errors),
                "stage": a.stage,
            }
            for a in attempts
        ],
    }
