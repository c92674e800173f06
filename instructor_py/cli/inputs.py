"""Reading what a command is given: the response model (``--schema``) and the input lines."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from instructor_py.cli.common import UsageError
from instructor_py.response_models.factory import to_response_model


def load_schema(spec: str) -> Any:
    """The response model for ``--schema``: a JSON-schema file, or ``module:Name`` /
    ``path/to/file.py:Name``."""
    path = Path(spec)
    if spec.endswith(".json") or (path.is_file() and ":" not in spec):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"--schema: no such file {spec!r}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"--schema: {spec} is not a readable JSON file ({error})") from None
        if not isinstance(schema, dict):
            raise UsageError(
                f"--schema: {spec} must hold a JSON schema object, got {type(schema).__name__}"
            )
        return to_response_model(schema)  # an invalid schema fails here, before anything is sent
    module_name, colon, name = spec.rpartition(":")
    if not colon or not module_name or not name:
        raise UsageError(
            f"--schema {spec!r}: give a JSON-schema file (FILE.json) or a Python model "
            "(module:Model or path/to/file.py:Model)"
        )
    model = getattr(import_attribute(module_name, spec), name, None)
    if model is None:
        raise UsageError(f"--schema {spec!r}: {module_name} has no attribute {name!r}")
    to_response_model(model)  # unsupported types fail here, naming what is supported
    return model


def import_attribute(module_name: str, spec: str) -> Any:
    try:
        if module_name.endswith(".py"):
            file = Path(module_name)
            if not file.is_file():
                raise UsageError(f"--schema {spec!r}: no such file {module_name!r}")
            loader = importlib.util.spec_from_file_location(file.stem, file)
            if loader is None or loader.loader is None:
                raise UsageError(f"--schema {spec!r}: cannot import {module_name}")
            module = importlib.util.module_from_spec(loader)
            sys.modules.setdefault(file.stem, module)
            loader.loader.exec_module(module)
            return module
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # like `python -m`: modules of the current directory
        return importlib.import_module(module_name)
    except UsageError:
        raise
    except ImportError as error:
        raise UsageError(f"--schema {spec!r}: cannot import {module_name} ({error})") from None
    except Exception as error:
        raise UsageError(
            f"--schema {spec!r}: importing {module_name} failed: {type(error).__name__}: {error}"
        ) from None


def parse_line(line: str) -> Any:
    """One input line as a batch input: a JSON string -> its text; a JSON object -> ``with_()``
    arguments (``"messages"``, ``"system"``...) or one message dict; a JSON list -> messages;
    anything else (plain text, a number...) -> the line's text."""
    text = line.rstrip("\r\n")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, str | dict | list):
        return value
    return text


def read_items(source: str) -> Iterator[Any]:
    try:
        stream: IO[str] = (
            sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
        )
    except OSError as error:
        raise UsageError(f"--input: cannot read {source!r} ({error.strerror})") from None
    try:
        for line in stream:
            if line.strip():
                yield parse_line(line)
    except UnicodeDecodeError as error:
        raise UsageError(f"--input: {source} is not UTF-8 text ({error})") from None
    finally:
        if stream is not sys.stdin:
            stream.close()
