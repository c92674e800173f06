"""``instructor-py batch submit | status | results``: provider batch jobs from the command line
(:mod:`instructor_py.client.batch_job`; ``docs/batch_jobs.md``).

``submit`` reads items like ``extract`` (one a line) and prints the job as one JSON line
(``{"job_id", "remote_id", "state", "total"}``); ``status JOB`` prints the job's status as a JSON
line (``--wait`` polls until it ends); ``results JOB`` writes one line per item, in input order,
like ``extract`` (``{"index", "value"}`` or ``{"index", "error", "error_type", "attempts"}``, plus
``"repaired": true`` for an item a live re-ask repaired). Every command takes ``--store`` (default
``$INSTRUCTOR_PY_JOBS`` or ``~/.cache/instructor_py/jobs.sqlite``), so a job submitted by one
process is read by another; the API key always comes from the preset's environment variable.

Exit status: 0 done (for ``results``: every item succeeded), 1 some item failed or the job cannot
be read, 2 bad arguments, 3 (``status --wait --timeout``) the job had not ended in time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

EXIT_NOT_DONE = 3


def add_commands(commands: Any) -> None:
    """Add ``batch`` and its sub-commands to the ``instructor-py`` parser."""
    from instructor_py.cli.common import non_negative

    batch = commands.add_parser(
        "batch",
        help="provider batch jobs (OpenAI Batch API, Anthropic Message Batches)",
        description="Submit items as a provider batch job (half price, answers within 24 h), "
        "check on it and read its results, from any process.",
    )
    actions = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    submit = actions.add_parser("submit", help="submit one request per input line")
    submit.add_argument("--schema", required=True, metavar="FILE.json|module:Model")
    submit.add_argument("--input", default="-", metavar="FILE.jsonl|-", help="default: stdin")
    submit.add_argument("--preset", required=True, help="openai, anthropic, or another preset with a batch API")
    submit.add_argument("--model", help="model name")
    submit.add_argument("--base-url", help="the API's base URL")
    submit.add_argument("--mode", help="output mode (tools, json_schema, json, md_json)")
    submit.add_argument("--system", help="a system prompt for every item")
    submit.add_argument("--max-retries", type=non_negative, help="live retries when repairing")
    submit.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    submit.add_argument(
        "--repair", action="store_true", help="re-ask live the items whose answer fails validation"
    )
    for action in (submit,):
        action.add_argument("--store", help="the job store (SQLite file)")
    for name, text in (("status", "print a job's status"), ("results", "write a job's results")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("job_id")
        sub.add_argument("--store", help="the job store (SQLite file)")
        sub.add_argument("--wait", action="store_true", help="poll until the job has ended")
        sub.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS")
        sub.add_argument("--timeout", type=float, metavar="SECONDS", help="give up waiting after")
        if name == "results":
            sub.add_argument("--output", default="-", metavar="FILE.jsonl|-")


def run(args: argparse.Namespace) -> int:
    """Run ``batch <action>`` (errors propagate to :func:`instructor_py.cli.main`)."""
    if args.batch_command == "submit":
        return _submit(args)
    if args.batch_command == "status":
        return _status(args)
    return _results(args)


def _submit(args: argparse.Namespace) -> int:
    from instructor_py.cli.common import option
    from instructor_py.cli.inputs import load_schema, read_items
    from instructor_py.client.structured_output import StructuredOutput

    overrides = {k: v for k, v in (("model", args.model), ("base_url", args.base_url)) if v}
    builder = (
        StructuredOutput()
        .using(args.preset, **overrides)
        .with_(
            response_model=load_schema(args.schema),
            system=args.system,
            mode=args.mode,
            max_retries=args.max_retries,
            options=dict(option(text) for text in args.option) or None,
        )
    )
    items = list(read_items(args.input))
    job = builder.submit_batch(items, store=args.store, repair=args.repair)
    status = job.status()
    _print({"job_id": job.id, "remote_id": job.remote_id, "state": status.state, "total": status.total})
    return 0


def _job(args: argparse.Namespace) -> Any:
    from instructor_py.client.batch_job import BatchJob

    return BatchJob.resume(args.job_id, store=args.store)


def _status(args: argparse.Namespace) -> int:
    from instructor_py.common.errors import BatchJobTimeoutError

    job = _job(args)
    try:
        status = _wait(job, args) if args.wait else job.status()
    except BatchJobTimeoutError as timeout:
        if timeout.status is not None:
            _print(_status_json(timeout.status))
        print(f"instructor-py: {timeout}", file=sys.stderr)
        return EXIT_NOT_DONE
    _print(_status_json(status))
    return 0


def _results(args: argparse.Namespace) -> int:
    from instructor_py.cli.outputs import open_output, result_record

    job = _job(args)
    if args.wait:
        _wait(job, args)
    details = job.details()
    failed = 0
    with open_output(args.output) as out:
        for detail in details:
            record = result_record(detail.index, detail.outcome)
            if detail.repaired:
                record["repaired"] = True
            failed += detail.error is not None
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if failed:
        print(
            f"instructor-py: {failed} of {len(details)} items failed (their lines carry the errors)",
            file=sys.stderr,
        )
        return 1
    return 0


def _wait(job: Any, args: argparse.Namespace) -> Any:
    from instructor_py.client.progress import ProgressBar

    progress = ProgressBar(sys.stderr, label="batch") if sys.stderr.isatty() else None
    return job.wait(progress=progress, poll_interval=args.poll_interval, timeout=args.timeout)


def _status_json(status: Any) -> dict[str, Any]:
    record = dataclasses.asdict(status)
    record["done"] = status.done
    return record


def _print(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)
