"""``instructor-py extract`` and ``instructor-py schema check``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from instructor_py.cli.common import EXIT_FAILED_ITEMS, UsageError, cache_path, complain, option
from instructor_py.cli.inputs import load_schema, read_items
from instructor_py.cli.outputs import OrderedWriter, open_output
from instructor_py.client.batch import run_batch
from instructor_py.client.media_inputs import item_with_media
from instructor_py.client.progress import ProgressBar
from instructor_py.client.provider_source import DEFAULT_PRESET, PRESET_ENV
from instructor_py.client.schema_check import check_schema_for
from instructor_py.client.structured_output import StructuredOutput
from instructor_py.response_models.factory import to_response_model


def run_extract(args: argparse.Namespace) -> int:
    response_model = load_schema(args.schema)
    options = dict(option(text) for text in args.option)
    builder = builder_for(args).with_(
        response_model=response_model,
        system=args.system,
        mode=args.mode,
        max_retries=args.max_retries,
        options=options or None,
        token_budget=args.token_budget,
    )
    if args.cache:
        builder = builder.with_cache(cache_path(args.cache))
    items = [
        item_with_media(item, {"images": args.images, "pdfs": args.pdfs, "audio": args.audio})
        for item in read_items(args.input)
    ]
    if items:
        builder.resolve_provider()  # a configuration error (no API key...) before any output
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        progress = ProgressBar(sys.stderr, label="extract")
    with open_output(args.output) as out:
        writer = OrderedWriter(out)
        results = run_batch(
            builder,
            items,
            concurrency=args.concurrency,
            progress=progress,
            on_result=writer.add,
        )
        failed = sum(isinstance(r, Exception) for r in results)
    if failed:
        complain(f"{failed} of {len(results)} items failed (their output lines carry the errors)")
        return EXIT_FAILED_ITEMS
    return 0


def builder_for(args: argparse.Namespace) -> StructuredOutput[Any]:
    overrides = {k: v for k, v in (("model", args.model), ("base_url", args.base_url)) if v}
    if args.preset is None and not overrides:
        return StructuredOutput()  # the SDK's default source: $INSTRUCTOR_PY_PRESET or local
    preset = args.preset or os.environ.get(PRESET_ENV) or DEFAULT_PRESET
    return StructuredOutput().using(preset, **overrides)


def run_schema_check(args: argparse.Namespace) -> int:
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
