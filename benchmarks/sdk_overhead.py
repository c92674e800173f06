"""Client-side CPU time per ``get()``: instructor_py vs Python ``instructor``, side by side.

Both clients call the same scripted loopback server (a separate process, so its CPU time is not
counted) that always returns the same canned OpenAI chat completion (a forced tool call with a
valid ``User``), with the same model name and the same prompt, in TOOLS mode. We measure
``time.process_time()`` of the client process over many calls (after a warm-up), in alternating
rounds, and report the median per-call CPU time of each and the ratio (ours / instructor).

Python ``instructor`` runs in its own virtualenv (``INSTRUCTOR_BENCH_PYTHON``, default
``<repo>/.venv-bench/bin/python``); if absent, that column is skipped with a message.

    PYTHONPATH=. .venv/bin/python benchmarks/sdk_overhead.py [--calls 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.servers.wire import openai_chat  # noqa: E402

MODEL = "gpt-4o-mini"
PROMPT = "Extract: Jason is 25 years old and lives in Paris."
CANNED = openai_chat(
    tool_args=json.dumps({"name": "Jason", "age": 25, "city": "Paris"}),
    tool_name="User",
    usage=(60, 12),
    model=MODEL,
)

USER_MODEL = """
from pydantic import BaseModel

class User(BaseModel):
    name: str
    age: int
    city: str
"""

INSTRUCTOR_SCRIPT = USER_MODEL + textwrap.dedent(
    """
    import json, sys, time
    import instructor
    from openai import OpenAI

    url, model, prompt, calls, warmup = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    client = instructor.from_openai(
        OpenAI(base_url=url, api_key="sk-bench", max_retries=0), mode=instructor.Mode.TOOLS
    )

    def call():
        return client.chat.completions.create(
            model=model, response_model=User, messages=[{"role": "user", "content": prompt}],
            max_retries=0,
        )

    for _ in range(warmup):
        call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        user = call()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert user.name == "Jason" and user.age == 25, user
    print(json.dumps({"cpu_ms": cpu * 1000 / calls, "wall_ms": wall * 1000 / calls}))
    """
)

OURS_SCRIPT = USER_MODEL + textwrap.dedent(
    """
    import json, sys, time
    from instructor_py import OutputMode, StructuredOutput

    url, model, prompt, calls, warmup = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    client = (
        StructuredOutput()
        .using("openai", base_url=url, api_key="sk-bench", model=model)
        .with_(messages=prompt, response_model=User, mode=OutputMode.TOOLS, max_retries=0)
    )
    for _ in range(warmup):
        client.get()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        user = client.get()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert user.name == "Jason" and user.age == 25, user
    print(json.dumps({"cpu_ms": cpu * 1000 / calls, "wall_ms": wall * 1000 / calls}))
    """
)


def bench_python() -> str | None:
    path = os.environ.get("INSTRUCTOR_BENCH_PYTHON") or str(REPO / ".venv-bench" / "bin" / "python")
    return path if Path(path).exists() else None


def run(python: str, script: str, url: str, calls: int, warmup: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [python, "-c", script, url, MODEL, PROMPT, str(calls), str(warmup)],
        capture_output=True, text=True, env=env, check=False, cwd=str(REPO),
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"benchmark client failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    competitor = bench_python()
    if competitor is None:
        print("Python instructor's venv not found (set INSTRUCTOR_BENCH_PYTHON or create "
              ".venv-bench with instructor==1.17.0): its column is skipped.")  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(CANNED, handle)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.servers.serve", "--reply", handle.name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}/v1"
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for _ in range(args.rounds):
            ours.append(run(sys.executable, OURS_SCRIPT, url, args.calls, args.warmup))
            if competitor:
                theirs.append(run(competitor, INSTRUCTOR_SCRIPT, url, args.calls, args.warmup))
            time.sleep(0.1)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
        os.unlink(handle.name)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"\nSDK overhead per get() — {args.calls} calls x {args.rounds} rounds, TOOLS mode, "
          f"loopback server in a separate process (median of rounds)\n")  # fmt: skip
    print(f"{'client':<28}{'CPU ms/call':>14}{'wall ms/call':>15}")
    print(f"{'instructor_py':<28}{median(ours, 'cpu_ms'):>14.3f}{median(ours, 'wall_ms'):>15.3f}")
    if theirs:
        print(f"{'instructor 1.17 (Python)':<28}{median(theirs, 'cpu_ms'):>14.3f}"
              f"{median(theirs, 'wall_ms'):>15.3f}")  # fmt: skip
        ratio = median(ours, "cpu_ms") / median(theirs, "cpu_ms")
        print(f"\nCPU ratio instructor_py / instructor: {ratio:.2f}x  (goal <= 1.0x)")


if __name__ == "__main__":
    main()
