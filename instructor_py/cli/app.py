"""The command line's parser and entry point (``main``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from instructor_py.cli.common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED_ITEMS,
    EXIT_INTERRUPTED,
    PROG,
    UsageError,
    complain,
    non_negative,
    positive,
)
from instructor_py.cli.extract import run_extract, run_schema_check
from instructor_py.client.provider_source import DEFAULT_PRESET, PRESET_ENV
from instructor_py.common.errors import ConfigurationError, InstructorError

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
        "--max-retries", type=non_negative, help="validation retries per item (default 2)"
    )
    extract.add_argument(
        "--concurrency",
        type=positive,
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
        type=positive,
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
    from instructor_py.cli.batch_jobs import add_commands

    add_commands(commands)  # instructor-py batch submit|status|results
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            return run_schema_check(args)
        if args.command == "batch":
            from instructor_py.cli.batch_jobs import run as run_batch_command

            return run_batch_command(args)
        return run_extract(args)
    except (UsageError, ConfigurationError) as error:
        complain(str(error))
        return EXIT_BAD_ARGUMENTS
    except InstructorError as error:  # the run could not start (a model file that fails to load...)
        complain(f"{type(error).__name__}: {error}")
        return EXIT_FAILED_ITEMS
    except KeyboardInterrupt:
        complain("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED_ITEMS
