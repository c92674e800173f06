"""Serve one canned JSON reply forever from a separate process (for benchmarks):
``python -m tests.support.servers.serve --reply FILE.json`` prints ``PORT <n>`` when ready and serves
until its stdin is closed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tests.support.servers.scripted import Reply, ScriptedServer


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve one canned JSON reply forever.")
    parser.add_argument("--reply", required=True, help="file with the JSON body to answer")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds before each answer (API latency)"
    )
    args = parser.parse_args(argv)
    with open(args.reply, encoding="utf-8") as handle:
        reply = Reply.json(json.load(handle), delay=args.delay)
    server = ScriptedServer(port=args.port).script([], default=reply)
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
