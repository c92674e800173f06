"""CBISON benchmark: mask µs per token through the C interface vs the orchestrator directly.

On a spread sample of the MaskBench schemas (``shared/maskbench``) and SmolLM2's tokenizer
(49,152 tokens), each schema's first valid instance is tokenized (compact JSON) and walked token
by token three ways, side by side, with the same token sequences and the same llguidance
backend behind them:

- ``orchestrator`` (the default a user has): ``handle.matcher.fill_next_token_bitmask``;
- ``C driver -> export``: a C program (tests/support/cbison/c/driver.c, built with ``cc`` here) calls
  our exported ``cbison_factory``'s ``compute_mask`` (C -> Python callback -> llguidance), timed
  in C with ``clock_gettime`` around the call;
- ``CbisonBackend -> export``: our exported factory consumed again through ``CbisonBackend``
  (Python -> C -> Python -> llguidance), the full round trip an orchestrator backend pays.

A second table batches ``--batch`` (default 8) matchers of the schema in lockstep: our
``BatchProcessor.fill_bitmask`` against the C driver's ``compute_masks`` on our export (one call
per step, filled by llguidance's parallel executor behind both), in µs per mask.

Each round runs the three in a rotating order (none always on a warmer cache); only the mask
call is timed, and each token's time is its minimum over the rounds (the machine is shared:
noise only adds). The ratio is each row's mean over the orchestrator's. Goal: <= 1.2x.

    PYTHONPATH=. python benchmarks/cbison.py               # 30 schemas, 3 rounds
    PYTHONPATH=. python benchmarks/cbison.py --limit 60 --rounds 5 --batch 16
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.cbison.build import Driver, build, c_compiler
from tests.support.engines import ModelUnavailable, load_vocab_only, model_gguf
from tests.support.maskbench import (
    find_maskbench_dir,
    load_cases,
    sample_cases,
    serialize_instance,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("orchestrator", "C driver -> export", "CbisonBackend -> export")
BATCH = ("BatchProcessor", "C driver compute_masks -> export")


def walk_python(matcher: Any, tokens: list[int], mask: np.ndarray) -> list[float]:
    """ns of each mask fill along ``tokens``."""
    out = []
    for t in tokens:
        t0 = time.perf_counter_ns()
        matcher.fill_next_token_bitmask(mask, 0)
        out.append(float(time.perf_counter_ns() - t0))
        matcher.accept_token(t)
    return out


def walk_batch(processor: Any, tokens: list[int]) -> list[float]:
    """ns per mask of each step's ``fill_bitmask`` (all rows) along ``tokens``."""
    out = []
    k = processor.batch_size
    for t in tokens:
        t0 = time.perf_counter_ns()
        processor.fill_bitmask()
        out.append(float(time.perf_counter_ns() - t0) / k)
        processor.accept_tokens([t] * k)
    return out


def print_table(title: str, best: dict[str, np.ndarray], names: tuple[str, ...]) -> float:
    """The rows of ``names`` (the first is the baseline); returns the worst ratio."""
    base = float(best[names[0]].mean())
    print(title + "\n")
    print(f"| path | mask µs mean | p50 | p99 | vs {names[0]} |")
    print("|---|---:|---:|---:|---:|")
    for e in names:
        arr = best[e]
        print(
            f"| {e} | {arr.mean():.1f} | {np.percentile(arr, 50):.1f} | "
            f"{np.percentile(arr, 99):.1f} | {arr.mean() / base:.2f}x |"
        )
    print()
    return max(float(best[e].mean()) / base for e in names[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=30, help="schemas (spread over subsets)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--batch", type=int, default=8, help="matchers per batch (0: no batch table)"
    )
    args = parser.parse_args(argv)
    if c_compiler() is None:
        print("no C compiler (cc) on PATH: the C driver cannot be built", file=sys.stderr)
        return 2

    from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend
    from instructor_py.engine.cbison import CbisonBackend, CbisonFactory, export_factory
    from instructor_py.engine.cbison.grammar_types import grammar_for_spec
    from instructor_py.local import (
        BatchProcessor,
        ConstraintSpec,
        StructuredOutputOrchestrator,
        TokenizerInfo,
    )

    try:
        llama = load_vocab_only(model_gguf("smollm2"))
    except ModelUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    directory = find_maskbench_dir(REPO_ROOT)
    if directory is None:
        print("shared/maskbench not found next to the repository", file=sys.stderr)
        return 2
    cases = [c for c in load_cases(directory) if any(i.valid for i in c.instances)]
    cases = sample_cases(cases, max(1, -(-len(cases) // args.limit)))[: args.limit]

    info = TokenizerInfo.from_llama(llama)
    direct = StructuredOutputOrchestrator(info, backends=[LLGuidanceBackend(info)])
    driver = Driver(build(Path(tempfile.mkdtemp(prefix="cbison_bench_")))["driver"])
    exported = export_factory(direct)
    factory = CbisonFactory(exported.address)
    via_c = StructuredOutputOrchestrator(info, backends=[CbisonBackend(factory, tokenizer=info)])
    words = factory.mask_byte_len // 4

    # per engine: one [rounds, tokens] array per schema; the machine is shared, so each token's
    # time is its minimum over the rounds (noise only ever adds time)
    names = ENGINES + (BATCH if args.batch > 0 else ())
    samples: dict[str, list[np.ndarray]] = {e: [] for e in names}
    used = skipped = 0
    for case in cases:
        try:
            spec = ConstraintSpec.json_schema(case.schema, allow_relaxed=False)
            handle = direct.compile(spec)
            via_c.compile(spec)
        except Exception:
            skipped += 1
            continue
        instance = next(i for i in case.instances if i.valid)
        tokens = info.tokenize(serialize_instance(instance.data))
        tokens = tokens[: handle.matcher.validate_tokens(tokens)]  # the prefix the grammar takes
        if not tokens:
            skipped += 1
            continue
        used += 1
        gtype, grammar = grammar_for_spec(spec) or ("", "")
        mask = direct.allocate_bitmask(1)
        runs: dict[str, list[list[float]]] = {e: [] for e in names}
        for r in range(args.rounds):
            for e in names[r % len(names) :] + names[: r % len(names)]:
                if e == "BatchProcessor":
                    bp = BatchProcessor(direct, args.batch)
                    for row in range(args.batch):
                        bp.set_constraint(row, spec)
                    runs[e].append(walk_batch(bp, tokens))
                elif e == "C driver compute_masks -> export":
                    total, per = driver.time_batch(
                        exported.address, gtype, grammar, tokens, args.batch, words
                    )
                    if total < 0:
                        raise SystemExit(f"the C driver's batch failed on {case.name}")
                    runs[e].append([float(x) / args.batch for x in per])
                elif e == "orchestrator":
                    runs[e].append(walk_python(direct.compile(spec).matcher, tokens, mask))
                elif e == "CbisonBackend -> export":
                    runs[e].append(walk_python(via_c.compile(spec).matcher, tokens, mask))
                else:
                    total, per = driver.time_masks(
                        exported.address, gtype, grammar, tokens, 1, words
                    )
                    if total < 0:
                        raise SystemExit(f"the C driver failed on {case.name}")
                    runs[e].append([float(x) for x in per])
        for e in names:
            samples[e].append(np.min(np.asarray(runs[e]), axis=0))

    best = {e: np.concatenate(samples[e]) / 1000 for e in names}
    print(
        f"CBISON mask time, SmolLM2 tokenizer ({info.vocab_size:,} tokens), {used} MaskBench "
        f"schemas (+{skipped} skipped), {best['orchestrator'].size} masks per row, each the "
        f"minimum of {args.rounds} rounds\n"
    )
    worst = print_table("One matcher:", best, ENGINES)
    print(f"worst ratio {worst:.2f}x (goal <= 1.2x: {'met' if worst <= 1.2 else 'NOT met'})\n")
    if args.batch > 0:
        ratio = print_table(f"Batches of {args.batch} matchers, µs per mask:", best, BATCH)
        print(f"batch ratio {ratio:.2f}x (goal <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})")
    factory.close()
    exported.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
