"""Soak: the load-with-faults suite of ``tests/reliability`` run longer, in rounds, so that memory,
sockets, threads and file descriptors can be seen to stay flat. Prints the tables of
``docs/reliability.md``.

Remote: ``--rounds`` rounds of ``--requests`` requests each, ``--concurrency`` at a time, async
(``aresponse()``) and from threads (streaming ``sequence()``), against the scripted loopback server
injecting about 10% seeded faults of every kind (429 with and without Retry-After, 500/502/503, a
connection reset, a read timeout, a stream cut mid-answer, invalid JSON, a valid answer failing
validation, a truncated answer) plus "doomed" requests (every 50th) answered invalid every time.
Each row is one round; a round passes when nothing is lost or answered twice, every error is
typed and carries all its attempts, and usage sums equal the server's.

Local: ``--local-requests`` requests, 8 at a time, on the embedded model, two in five cancelled
mid-stream (thread ``close()`` and task cancellation); every completed answer must be the greedy
one. Skipped with ``--local-requests 0`` or without the local extra.

Usage::

    PYTHONPATH=. python benchmarks/soak.py [--rounds 5] [--requests 1000] [--concurrency 32]
        [--seed 14] [--local-requests 400]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from tests.support.load import format_report, load_run, run_async, run_threads_streaming
from tests.support.load_local import format_local, run_local


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--local-requests", type=int, default=400)
    args = parser.parse_args()
    failed = False
    for name, runner in (("async", run_async), ("threads-streaming", run_threads_streaming)):
        reports = []
        for r in range(args.rounds):
            report = load_run(f"{name} round {r + 1}", runner, requests=args.requests, concurrency=args.concurrency, seed=args.seed + r)
            reports.append(report)
            failed |= bool(report.problems)
            for problem in report.problems[:10]:
                print(f"  PROBLEM {report.name}: {problem}", file=sys.stderr)
        print(f"\n### {name}: {args.rounds} x {args.requests} requests, {args.concurrency} at a time\n")
        print(format_report(reports))
    local = args.local_requests > 0 and importlib.util.find_spec("llama_cpp") is not None
    if local:
        report_local = run_local(requests=args.local_requests, concurrency=8)
        failed |= bool(report_local.problems)
        for problem in report_local.problems[:10]:
            print(f"  PROBLEM local: {problem}", file=sys.stderr)
        print(f"\n### local: {args.local_requests} requests, 8 at a time, 2 in 5 cancelled mid-stream\n")
        print(format_local(report_local))
    print("\nresult:", "FAILED" if failed else "every round balanced")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
