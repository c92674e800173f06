"""The command line: ``instructor-py extract`` (also ``python -m instructor_py extract``).

One input a line in, one result a line out, in input order, run by the batch API
(:mod:`instructor_py.client.batch`) with bounded concurrency. See ``instructor-py extract --help`` and
``docs/batch.md``.

Exit status: 0 when every item succeeded, 1 when any item failed (its line carries the error and
its attempts) or the run could not start, 2 for bad arguments or configuration (nothing was sent), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic_core import to_jsonable_python

from instructor_py.client.batch import BatchResult, run_batch
from instructor_py.client.media_inputs import item_with_media
from instructor_py.client.progress import ProgressBar
from instructor_py.client.provider_source import DEFAULT_PRESET, PRESET_ENV
from instructor_py.client.schema_check import check_schema_for
from instructor_py.client.structured_output import StructuredOutput
from instructor_py.common.errors import ConfigurationError, InstructorError
from instructor_py.response_models.factory import to_response_model

__all__ = ["EXIT_BAD_ARGUMENTS", "EXIT_FAILED_ITEMS", "EXIT_INTERRUPTED", "main", "parse_line"]

PROG = "instructor-py"
EXIT_FAILED_ITEMS = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_INTERRUPTED = 130

_EXAMPLES = f"""\
input lines (one item each; blank lines are skipped):
  Jason is 25 years old                      a plain text line
  "Jason is 25 years old"                    a JSON string
  {{"messages": "Jason is 25"}}                an object with "messages" (a string or a list
  {{"messages": [{{"role": "user", "content": "..."}}], "system": "..."}}
                                             of message dicts) and any other with_() part
  {{"text": "What is this?", "images": ["cat.png", "https://..."]}}
                                             media per item: "images", "pdfs", "audio"

output lines, in input order (index counts the items from 0):
  {{"index": 0, "value": {{"name": "Jason", "age": 25}}}}
  {{"index": 1, "error": "...", "error_type": "StructuredOutputRetryError", "attempts": [...]}}

examples:
  # the embedded local model (no preset, no key), a JSON-schema file
  {PROG} extract --schema person.json --input people.jsonl --output out.jsonl

  # a pydantic model from your code (module:Model or path/to/file.py:Model), stdin to stdout
  cat people.txt | {PROG} extract --schema myapp.models:Person > out.jsonl

  # an API preset (the key comes from its variable, e.g. OPENAI_API_KEY)
  {PROG} extract --schema person.json --input people.jsonl --preset openai \\
      --model gpt-4o-mini --concurrency 8

  # a rerun over the same input answers from the cache (no requests)
  {PROG} extract --schema person.json --input people.jsonl --preset openai --cache answers.sqlite

  # any OpenAI-compatible server
  {PROG} extract --schema person.json --preset openai --base-url http://localhost:8000/v1 ...

The preset is --preset, else ${PRESET_ENV}, else "{DEFAULT_PRESET}" (the embedded model).
Exit status: 0 all items succeeded, {EXIT_FAILED_ITEMS} some item failed, {EXIT_BAD_ARGUMENTS} bad arguments or
configuration (nothing sent), {EXIT_INTERRUPTED} interrupted.
"""


class UsageError(Exception):
    """A bad argument found after parsing (a schema file that is not JSON, ...)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn text into validated JSON with an LLM, one item a line.",
        epilog=f"Run '{PROG} extract --help' for the input and output formats and examples.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    extract = commands.add_parser(
        "extract",
        help="extract one structured value per input line",
        description="Extract one value per input line, validated against a schema; results are "
        "written one a line, in input order, as soon as each is ready.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument(
        "--schema",
        required=True,
        metavar="FILE.json|module:Model",
        help="a JSON-schema file (an object schema) or a Python model: module:Model or "
        "path/to/file.py:Model (a pydantic model, dataclass or TypedDict)",
    )
    extract.add_argument("--input", default="-", metavar="FILE.jsonl|-", help="default: stdin")
    extract.add_argument("--output", default="-", metavar="FILE.jsonl|-", help="default: stdout")
    extract.add_argument("--preset", help=f"provider preset (default: ${PRESET_ENV} or local)")
    extract.add_argument("--model", help="model name (for the local preset: a .gguf path)")
    extract.add_argument("--base-url", help="the API's base URL (OpenAI-compatible servers)")
    extract.add_argument("--mode", help="output mode (tools, json_schema, json, md_json, grammar)")
    extract.add_argument("--system", help="a system prompt for every item")
    extract.add_argument(
        "--max-retries", type=_non_negative, help="validation retries per item (default 2)"
    )
    extract.add_argument(
        "--concurrency",
        type=_positive,
        help="items at a time (default: the provider's, else 8)",
    )
    extract.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a provider option, e.g. --option temperature=0 --option max_tokens=256 (VALUE is "
        "read as JSON when it parses, else as text); repeatable",
    )
    extract.add_argument(
        "--cache",
        metavar="FILE",
        help="answer repeated items from a SQLite cache of validated answers (created if absent; "
        "shared by concurrent runs); a rerun over the same input sends no requests",
    )
    extract.add_argument(
        "--token-budget",
        type=_positive,
        metavar="N",
        help="stop an item's retries before they would spend more than N tokens in all",
    )
    extract.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )
    for flag, kind in (("--image", "images"), ("--pdf", "pdfs"), ("--audio", "audio")):
        extract.add_argument(
            flag,
            action="append",
            default=[],
            dest=kind,
            metavar="FILE|URL",
            help=f"attach this {flag[2:]} to every item (repeatable); per item, use the JSONL "
            f'field "{kind}": ["path or URL", ...]',
        )
    schema = commands.add_parser(
        "schema", help="schema tools (check what a provider accepts)",
        description="Schema tools.",
    )
    schema_commands = schema.add_subparsers(dest="schema_command", metavar="SUBCOMMAND",
                                            required=True)
    check = schema_commands.add_parser(
        "check",
        help="what a provider does with a schema: sent as is, rewritten (what) or refused (why)",
        description="Check a schema against what a provider and mode accept, before any request "
        "(nothing is sent). Exit status 0 when it can be sent (as is or rewritten), 1 when refused.",
    )
    check.add_argument("schema", metavar="FILE.json|module:Model")
    check.add_argument("--provider", required=True,
                       help="openai, anthropic, gemini (or gemini/responseJsonSchema), bedrock, "
                       "llama-cpp-server")
    check.add_argument("--mode", help="tools or json_schema (json/md_json put it in the prompt)")
    check.add_argument("--show-wire", action="store_true", help="print the schema as sent")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            return _schema_check(args)
        return _extract(args)
    except (UsageError, ConfigurationError) as error:
        _complain(str(error))
        return EXIT_BAD_ARGUMENTS
    except InstructorError as error:  # the run could not start (a model file that fails to load...)
        _complain(f"{type(error).__name__}: {error}")
        return EXIT_FAILED_ITEMS
    except KeyboardInterrupt:
        _complain("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED_ITEMS


def _extract(args: argparse.Namespace) -> int:
    response_model = load_schema(args.schema)
    options = dict(_option(text) for text in args.option)
    builder = _builder(args).with_(
        response_model=response_model,
        system=args.system,
        mode=args.mode,
        max_retries=args.max_retries,
        options=options or None,
        token_budget=args.token_budget,
    )
    if args.cache:
        builder = builder.with_cache(_cache_path(args.cache))
    items = [
        item_with_media(item, {"images": args.images, "pdfs": args.pdfs, "audio": args.audio})
        for item in _read_items(args.input)
    ]
    if items:
        builder.resolve_provider()  # a configuration error (no API key...) before any output
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        progress = ProgressBar(sys.stderr, label="extract")
    with _output(args.output) as out:
        writer = _OrderedWriter(out)
        results = run_batch(
            builder,
            items,
            concurrency=args.concurrency,
            progress=progress,
            on_result=writer.add,
        )
        failed = sum(isinstance(r, Exception) for r in results)
    if failed:
        _complain(f"{failed} of {len(results)} items failed (their output lines carry the errors)")
        return EXIT_FAILED_ITEMS
    return 0


def _schema_check(args: argparse.Namespace) -> int:
    if args.schema.endswith(".json"):  # the file's schema as it is (any root)
        try:
            schema = json.loads(Path(args.schema).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"{args.schema} is not a readable JSON file ({error})") from None
        if not isinstance(schema, dict):
            raise UsageError(f"{args.schema} must hold a JSON schema object")
    else:
        schema = dict(to_response_model(load_schema(args.schema)).json_schema)
    report = check_schema_for(schema, args.provider, args.mode)
    if report is None:
        print(f"{args.provider} [{args.mode}]: the schema travels in the prompt; nothing to check")
        return 0
    print(report.render())
    if args.show_wire and report.outcome != "refused":
        print(report.wire_json())
    return EXIT_FAILED_ITEMS if report.outcome == "refused" else 0


def _builder(args: argparse.Namespace) -> StructuredOutput[Any]:
    overrides = {k: v for k, v in (("model", args.model), ("base_url", args.base_url)) if v}
    if args.preset is None and not overrides:
        return StructuredOutput()  # the SDK's default source: $INSTRUCTOR_PY_PRESET or local
    preset = args.preset or os.environ.get(PRESET_ENV) or DEFAULT_PRESET
    return StructuredOutput().using(preset, **overrides)


# -- the schema ------------------------------------------------------------------------------------


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
    model = getattr(_import(module_name, spec), name, None)
    if model is None:
        raise UsageError(f"--schema {spec!r}: {module_name} has no attribute {name!r}")
    to_response_model(model)  # unsupported types fail here, naming what is supported
    return model


def _import(module_name: str, spec: str) -> Any:
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


# -- input and output ------------------------------------------------------------------------------


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


def _read_items(source: str) -> Iterator[Any]:
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


@contextlib.contextmanager
def _output(target: str) -> Iterator[IO[str]]:
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


class _OrderedWriter:
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


def _cache_path(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise UsageError(f"--cache {text!r} is a folder; give a file, e.g. {text.rstrip('/')}/cache.sqlite")
    return path


# -- small parts -----------------------------------------------------------------------------------


def _option(text: str) -> tuple[str, Any]:
    key, equals, raw = text.partition("=")
    if not equals or not key:
        raise UsageError(f"--option {text!r}: use KEY=VALUE, e.g. --option temperature=0")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _complain(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
