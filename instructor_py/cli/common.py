"""What every command shares: the program name, exit codes, the usage error and argument types."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROG = "instructor-py"


EXIT_FAILED_ITEMS = 1


EXIT_BAD_ARGUMENTS = 2


EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument found after parsing (a schema file that is not JSON, ...)."""


def positive(text: str) -> int:
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def non_negative(text: str) -> int:
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def option(text: str) -> tuple[str, Any]:
    key, equals, raw = text.partition("=")
    if not equals or not key:
        raise UsageError(f"--option {text!r}: use KEY=VALUE, e.g. --option temperature=0")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def complain(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def cache_path(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise UsageError(f"--cache {text!r} is a folder; give a file, e.g. {text.rstrip('/')}/cache.sqlite")
    return path
