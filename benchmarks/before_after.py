"""Before vs after, side by side in one run: this tree's SDK against another checkout of it.

For a refactor, "not slower" is measured, not assumed: the same two measurements run
alternately (round-robin, so load changes on a shared machine hit both alike), each in a fresh
subprocess whose ``PYTHONPATH`` is the tree under test:

- ``get()`` overhead: the per-call client CPU time of ``benchmarks/sdk_overhead.py``'s client
  (TOOLS mode, canned completion from a loopback server in a separate process; a tree whose
  ``get()`` streams -- streaming constraint checking -- is answered the same completion as SSE,
  as a real server does);
- streaming: ``benchmarks/streaming.py``'s workload (N list items streamed in 6-byte deltas
  through ``stream().partials()`` and ``final_value()``), CPU seconds, best of the rounds.
  For this tree it runs with the defaults (streaming constraint checking on, as in JSON mode by
  default) and with ``check_stream=False``.

Usage (the base tree is e.g. ``git worktree add --detach ../base <commit>``)::

    .venv/bin/python benchmarks/before_after.py --base ../base [--rounds 5] [--sizes 500,2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.sdk_overhead import CANNED, MODEL, OURS_SCRIPT, PROMPT  # noqa: E402

STREAM_CHILD = r"""
import gc, json, sys, time
from benchmarks.streaming import ChunkProvider, Items, chunks_of, document
from instructor_py import OutputMode, StructuredOutput
import instructor_py

n, check = int(sys.argv[1]), sys.argv[2]
chunks = chunks_of(document(n))
client = StructuredOutput().with_provider(ChunkProvider(chunks)).with_(
    messages="list the users", response_model=Items, mode=OutputMode.JSON
)
if check == "off":
    client = client.with_(check_stream=False)
best = float("inf")
for _ in range(int(sys.argv[3])):
    gc.collect()
    start = time.process_time()
    stream = client.stream()
    for partial in stream.partials():
        pass
    final = stream.final_value()
    best = min(best, time.process_time() - start)
    assert isinstance(final, Items) and len(final.items) == n
print(json.dumps({"seconds": best, "module": instructor_py.__file__}))
"""


def child(tree: Path, args: list[str], script: str) -> dict[str, float | str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True, text=True, env=env, check=False, cwd=str(tree),
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed in {tree}:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--repeat", type=int, default=3, help="stream runs per child (best kept)")
    args = parser.parse_args()
    base = args.base.resolve()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(CANNED, handle)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.servers.serve", "--reply", handle.name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    get_ms: dict[str, list[float]] = {"before": [], "after": []}
    stream_s: dict[tuple[str, int], list[float]] = {}
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}/v1"
        get_args = [url, MODEL, PROMPT, str(args.calls), "30"]
        for _ in range(args.rounds):
            for label, tree in (("before", base), ("after", REPO)):
                get_ms[label].append(float(child(tree, get_args, OURS_SCRIPT)["cpu_ms"]))
                for n in sizes:
                    checks = ("on",) if label == "before" else ("on", "off")
                    for check in checks:
                        row = child(tree, [str(n), check, str(args.repeat)], STREAM_CHILD)
                        assert str(row["module"]).startswith(str(tree)), row
                        key = (label if label == "before" else f"after/check {check}", n)
                        stream_s.setdefault(key, []).append(float(row["seconds"]))
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
        os.unlink(handle.name)

    before = statistics.median(get_ms["before"])
    after = statistics.median(get_ms["after"])
    best_before, best_after = min(get_ms["before"]), min(get_ms["after"])
    print(f"\nget() client CPU per call, TOOLS mode ({args.calls} calls x {args.rounds} rounds; "
          "median and best of rounds)\n")  # fmt: skip
    print(f"{'tree':<26}{'median ms':>10}{'ratio':>7}{'best ms':>9}{'ratio':>7}")
    print(f"{'before (' + base.name + ')':<26}{before:>10.3f}{'':>7}{best_before:>9.3f}")
    print(f"{'after (this tree)':<26}{after:>10.3f}{after / before:>7.2f}{best_after:>9.3f}"
          f"{best_after / best_before:>7.2f}")  # fmt: skip
    print(f"\nstream() partials + final_value(), JSON mode, 6-byte deltas (CPU s, best of "
          f"{args.rounds} x {args.repeat})\n")  # fmt: skip
    print(f"{'N':>6}{'before':>10}{'after':>10}{'ratio':>8}{'after, check off':>18}{'ratio':>8}")
    for n in sizes:
        b = min(stream_s[("before", n)])
        on = min(stream_s[("after/check on", n)])
        off = min(stream_s[("after/check off", n)])
        print(f"{n:>6}{b:>10.3f}{on:>10.3f}{on / b:>8.2f}{off:>18.3f}{off / b:>8.2f}")


if __name__ == "__main__":
    main()
