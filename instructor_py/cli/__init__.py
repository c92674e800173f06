"""The command line: ``instructor-py extract`` (also ``python -m instructor_py extract``),
``instructor-py schema check`` and ``instructor-py batch submit|status|results`` (provider batch
jobs).

One input a line in, one result a line out, in input order, run by the batch API
(:mod:`instructor_py.client.batch`) with bounded concurrency. See ``instructor-py extract --help``
and ``docs/batch.md``.

Exit status: 0 when every item succeeded, 1 when any item failed (its line carries the error and
its attempts) or the run could not start, 2 for bad arguments or configuration (nothing was
sent), 130 when interrupted.
"""

from __future__ import annotations

from instructor_py.cli.app import build_parser, main
from instructor_py.cli.common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED_ITEMS,
    EXIT_INTERRUPTED,
    PROG,
    UsageError,
)
from instructor_py.cli.inputs import load_schema, parse_line
from instructor_py.cli.outputs import result_record

__all__ = [
    "EXIT_BAD_ARGUMENTS",
    "EXIT_FAILED_ITEMS",
    "EXIT_INTERRUPTED",
    "PROG",
    "UsageError",
    "build_parser",
    "load_schema",
    "main",
    "parse_line",
    "result_record",
]
