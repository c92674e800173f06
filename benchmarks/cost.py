"""What the response cache and the token budget save, through the public API.

1. Cache hit latency: the median wall time of one ``get()`` answered by the loopback server (the
   scripted server on 127.0.0.1: no network, no model, so this is the client's own cost of a
   request), by the embedded local model (SmolLM2-135M, when the local extra is installed), and
   by a hit of ``with_cache("memory")`` and of ``with_cache(file)`` (SQLite). Interleaved rounds;
   the ratio is live / hit.
2. A repeated run of the CLI over a JSONL file: ``instructor-py extract`` twice over the same
   input (with duplicate lines), without and with ``--cache FILE``: requests the server received,
   wall time of each run.
3. The token budget stopping a retry loop: a server whose every answer fails validation (400
   prompt + 50 output tokens per attempt), ``max_retries=10``, without a budget and with
   ``token_budget=1500``: requests, tokens spent, how it ended.

    PYTHONPATH=. .venv/bin/python benchmarks/cost.py [--calls 200] [--rounds 3] [--items 40] [--local-calls 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pydantic import BaseModel, field_validator  # noqa: E402

from instructor_py import (  # noqa: E402
    SqliteCache,
    StructuredOutput,
    StructuredOutputRetryError,
    TokenBudgetExceededError,
)
from tests.support.servers import Reply, ScriptedServer  # noqa: E402
from tests.support.servers.scripted import RecordedRequest  # noqa: E402
from tests.support.servers.wire import openai_chat  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from results import Chart, Table, save  # noqa: E402

MODEL = "gpt-4o-mini"
PROMPT = "Extract: Jason is 25 years old and lives in Paris."


class User(BaseModel):
    name: str
    age: int
    city: str


class Adult(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def adult(cls, age: int) -> int:
        if age < 18:
            raise ValueError("age must be at least 18")
        return age


CANNED = openai_chat(
    tool_args=json.dumps({"name": "Jason", "age": 25, "city": "Paris"}),
    tool_name="User",
    usage=(60, 12),
    model=MODEL,
)


def per_call_ms(fn: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) * 1000 / calls


TABLES: list[Table] = []


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    TABLES.append(Table(title, header, rows))
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


# -- 1. cache hit latency --------------------------------------------------------------------------


def hit_latency(calls: int, count: int, local_calls: int, folder: Path) -> None:
    with ScriptedServer() as server:
        server.script([], default=Reply.json(CANNED))
        base = (
            StructuredOutput()
            .using("openai", api_key="sk-bench", base_url=server.openai_url, model=MODEL)
            .with_(messages=PROMPT, response_model=User, check_stream=False)
        )
        memory = base.with_cache("memory")
        sqlite = base.with_cache(SqliteCache(folder / "hits.sqlite"))
        for builder in (base, memory, sqlite):  # warm up (and fill the caches)
            builder.get()
        runs: list[tuple[str, Callable[[], Any]]] = [
            ("live call, loopback server (openai SDK)", base.get),
            ('cache hit, with_cache("memory")', memory.get),
            ("cache hit, with_cache(file) (SQLite, WAL)", sqlite.get),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in runs}
        sent_before = len(server.requests)
        for _ in range(count):
            for name, fn in runs:
                times[name].append(per_call_ms(fn, calls))
        live_requests = len(server.requests) - sent_before
    medians = {name: statistics.median(v) for name, v in times.items()}
    live = medians[runs[0][0]]
    rows = [
        [name, f"{ms:.3f}", "1.0" if name == runs[0][0] else f"{live / ms:.1f}x"]
        for name, ms in medians.items()
    ]
    table(
        f"Cache hit latency vs a live call to the loopback server ({calls} calls x {count} rounds, "
        f"medians; the server received {live_requests} requests, all from the live row)",
        ["call", "ms per get()", "live / this"],
        rows,
    )
    local_latency(local_calls, folder)


def local_latency(calls: int, folder: Path) -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("\nLocal rows skipped (the local extra, llama-cpp-python, is not installed)")
        return
    if calls <= 0:
        return
    base = (
        StructuredOutput()
        .using("local")
        .with_(messages=PROMPT, response_model=User, max_retries=0, options={"max_tokens": 48})
    )
    base.with_(messages="warm up: Ann is 30 and lives in Oslo.").get()  # load the model
    cached = base.with_cache(SqliteCache(folder / "local.sqlite"))
    cached.get()  # fill
    live_ms = statistics.median(per_call_ms(base.get, 1) for _ in range(calls))
    hit_ms = statistics.median(per_call_ms(cached.get, 1) for _ in range(max(calls, 20)))
    table(
        f"Cache hit latency vs the embedded local model (SmolLM2-135M, {calls} live calls)",
        ["call", "ms per get()", "live / this"],
        [
            ["live call, embedded local model", f"{live_ms:.1f}", "1.0"],
            ["cache hit, with_cache(file) (SQLite)", f"{hit_ms:.3f}", f"{live_ms / hit_ms:.0f}x"],
        ],
    )


# -- 2. the CLI over a JSONL file, twice -----------------------------------------------------------


def cli_rerun(items: int, folder: Path) -> None:
    schema = folder / "person.json"
    schema.write_text(
        json.dumps(
            {
                "title": "Person",
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
            }
        )
    )
    unique = max(1, items * 3 // 4)
    source = folder / "people.jsonl"
    source.write_text("".join(f"Person{n % unique} is {20 + n % unique}\n" for n in range(items)))

    def respond(request: RecordedRequest) -> Reply:
        text = next(m["content"] for m in request.json["messages"] if m["role"] == "user")
        name, _, age = text.partition(" is ")
        args = json.dumps({"name": name, "age": int(age)})
        return Reply.json(openai_chat(tool_args=args, tool_name="Person", model=MODEL), delay=0.05)

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(REPO)
    rows: list[list[str]] = []
    with ScriptedServer() as server:
        server.respond_with(respond)
        env.update({"OPENAI_BASE_URL": server.openai_url, "OPENAI_API_KEY": "sk-bench"})
        for label, extra in (
            ("no cache", ()),
            ("--cache FILE", ("--cache", str(folder / "cli.sqlite"))),
        ):
            for run in ("first run", "second run"):
                before = len(server.requests)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "instructor_py", "extract", "--schema", str(schema),
                     "--input", str(source), "--output", str(folder / "out.jsonl"), "--preset", "openai",
                     "--model", MODEL, "--concurrency", "8", "--no-progress", *extra],
                    env=env, capture_output=True, text=True, timeout=600, check=False,
                )  # fmt: skip
                wall = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
                sent = len(server.requests) - before
                rows.append([label, run, str(items), str(sent), f"{wall:.2f}"])
    saved = 1 - int(rows[3][3]) / max(1, int(rows[1][3]))
    table(
        f"instructor-py extract over a JSONL file of {items} lines ({unique} distinct; the server "
        f"answers after 50 ms), run twice: the second run with --cache sends {saved:.0%} fewer "
        "requests",
        ["cache", "run", "lines", "requests sent", "wall s (incl. interpreter start)"],
        rows,
    )


# -- 3. the token budget ---------------------------------------------------------------------------


def budget() -> None:
    rows: list[list[str]] = []
    bad = openai_chat(
        tool_args=json.dumps({"name": "Jason", "age": 5}), tool_name="Adult", usage=(400, 50)
    )
    for label, tokens in (("no budget", None), ("token_budget=1500", 1500)):
        with ScriptedServer() as server:
            server.script([], default=Reply.json(bad))
            builder = (
                StructuredOutput()
                .using("openai", api_key="sk-bench", base_url=server.openai_url, model=MODEL)
                .with_(
                    messages="Jason is 5", response_model=Adult, max_retries=10, check_stream=False
                )
            )
            if tokens is not None:
                builder = builder.with_budget(tokens=tokens)
            try:
                builder.get()
                ended = "succeeded"
                spent = 0
                attempts = 0
            except TokenBudgetExceededError as error:
                ended = f"TokenBudgetExceededError (next attempt ~{error.estimate} tokens)"
                spent, attempts = error.usage.total_tokens, len(error.attempts)
            except StructuredOutputRetryError as error:
                ended = "StructuredOutputRetryError (retries exhausted)"
                spent, attempts = error.usage.total_tokens, len(error.attempts)
            rows.append([label, str(len(server.requests)), str(attempts), str(spent), ended])
    table(
        "The token budget stopping a retry loop (every answer fails validation; 400 prompt + 50 "
        "output tokens per attempt; max_retries=10)",
        ["budget", "requests", "attempts carried", "tokens spent", "ended with"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per round and row")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--items", type=int, default=40, help="lines of the CLI's JSONL input")
    parser.add_argument("--local-calls", type=int, default=3, help="live local calls (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        hit_latency(args.calls, args.rounds, args.local_calls, Path(folder))
        cli_rerun(args.items, Path(folder))
        budget()
    save("cost", TABLES, charts(TABLES))


def charts(tables: list[Table]) -> list[Chart]:
    """Cache hit latency (the loopback table) and the requests of the CLI reruns."""
    latency, rerun = tables[0], next(t for t in tables if t.columns[0] == "cache")
    return [
        Chart("cost-cache-latency", "Cache hits against a live call (loopback server)", "bar",
              ["ms per get()"], {row[0]: [float(row[1])] for row in latency.rows},
              ylabel="milliseconds (log)", log_y=True),
        Chart("cost-cli-rerun", "instructor-py extract run twice over the same JSONL file", "bar",
              [f"{row[0]}, {row[1]}" for row in rerun.rows],
              {"requests sent": [float(row[3]) for row in rerun.rows]}, ylabel="requests"),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
