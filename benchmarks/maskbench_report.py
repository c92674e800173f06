"""MaskBench conformance report: score the orchestrator on the shared MaskBench sample.

For every schema in ``shared/maskbench`` (638 files, 1639 instances) this compiles the schema with
``StructuredOutputOrchestrator.compile_json_schema``, then walks each instance's tokens (the model's
own tokenizer, compact JSON) through a fresh matcher, checking every token against the mask. It
prints, per subset: schemas, passes, compile errors, relaxed handles, false rejects, false accepts
(an invalid instance accepted by an *exact* handle), relaxed accepts, inconsistencies.

    PYTHONPATH=. python benchmarks/maskbench_report.py                  # all 638, SmolLM2
    PYTHONPATH=. python benchmarks/maskbench_report.py --details        # + every failure, reasons
    PYTHONPATH=. python benchmarks/maskbench_report.py --engine llguidance-raw --limit 100
    PYTHONPATH=. python benchmarks/maskbench_report.py --model gemma3   # needs the 'gemma' extra
    PYTHONPATH=. python benchmarks/maskbench_report.py --backend outlines --exact-only

Exit status 1 if there is any false accept or inconsistency, else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from tests.support.engines import (
    MODELS,
    ModelUnavailable,
    llama_tokenize,
    load_vocab_only,
    model_gguf,
    orchestrator_engine,
    raw_llguidance_engine,
    raw_lltokenizer,
)
from tests.support.maskbench import (
    CaseScore,
    EngineUnderTest,
    find_maskbench_dir,
    format_table,
    load_cases,
    sample_cases,
    score_case,
    summarize,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def reason_category(note: str) -> str:
    """The gist of a relaxed/compile-error reason (backend messages without the schema text)."""
    gist = note.split("': ", 1)[1] if "': " in note else note
    gist = re.split(r"[;\n]", gist, maxsplit=1)[0]
    return re.sub(r"\d+", "N", gist)[:90]


def build_engine(name: str, model: str, backend: str | None, exact_only: bool) -> EngineUnderTest:
    from instructor_py.engine.backends import installed_backends
    from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo

    llama = load_vocab_only(model_gguf(model))
    info = TokenizerInfo.from_llama(llama)
    tokenize = llama_tokenize(llama)
    if name == "orchestrator":
        backends = installed_backends(info)
        if backend is not None:
            backends = [b for b in backends if b.name == backend]
            if not backends:
                raise ModelUnavailable(f"backend {backend!r} is not installed")
        orchestrator = StructuredOutputOrchestrator(info, backends=backends)
        return orchestrator_engine(orchestrator, tokenize, allow_relaxed=not exact_only)
    lltok = raw_lltokenizer(llama, list(info.eos_token_ids))
    return raw_llguidance_engine(lltok, tokenize, tuple(info.eos_token_ids))


def print_details(scores: list[CaseScore]) -> None:
    print("\n## Failures")
    for s in scores:
        if not s.compiled:
            print(f"- compile error {s.case}: {s.compile_error}")
        for label, outcomes in (
            ("FALSE ACCEPT", s.false_accepts),
            ("false reject", s.false_rejects),
            ("inconsistency", s.inconsistencies),
        ):
            for o in outcomes:
                r = o.result
                print(f"- {label} {s.case} test #{o.index}: {r.reason} at token {r.rejected_at}"
                      + (f" ({r.inconsistency})" if r.inconsistency else ""))
    relaxed = Counter(reason_category(s.note) for s in scores if s.compiled and not s.exact)
    if relaxed:
        print("\n## Why schemas were compiled relaxed (exact=False)")
        for gist, n in relaxed.most_common(20):
            print(f"- {n:3d} x {gist}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=MODELS, default="smollm2")
    parser.add_argument("--engine", choices=("orchestrator", "llguidance-raw"), default="orchestrator")
    parser.add_argument("--backend", choices=("llguidance", "outlines"),
                        help="orchestrator with only this backend (default: all installed)")
    parser.add_argument("--exact-only", action="store_true",
                        help="no relaxed fallback: a schema no backend compiles exactly is a compile error")
    parser.add_argument("--limit", type=int, default=0, help="score a spread sample of N schemas")
    parser.add_argument("--details", action="store_true", help="list failures and relaxed reasons")
    parser.add_argument("--json", type=Path, help="write per-schema results to this file")
    args = parser.parse_args(argv)

    directory = find_maskbench_dir(REPO_ROOT)
    if directory is None:
        print("shared/maskbench not found next to the repository (or above it)", file=sys.stderr)
        return 2
    cases = load_cases(directory)
    if args.limit and args.limit < len(cases):
        cases = sample_cases(cases, -(-len(cases) // args.limit))[: args.limit]
    try:
        engine = build_engine(args.engine, args.model, args.backend, args.exact_only)
    except ModelUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    scores = [score_case(engine, case, time.perf_counter) for case in cases]
    elapsed = time.perf_counter() - t0
    rows = summarize(scores)
    total = rows[-1]
    compile_ms = [s.compile_ms for s in scores if s.compiled]
    print(f"# MaskBench conformance: {engine.name}, {args.model} "
          f"(vocab {engine.vocab_size}), {len(cases)} schemas\n")
    print(format_table(rows))
    print(f"\nvalid accepted {total.valid_accepted}/{total.valid}, invalid rejected "
          f"{total.invalid_rejected}/{total.invalid}; backends {dict(total.backends)}")
    if compile_ms:
        print(f"compile ms: mean {statistics.fmean(compile_ms):.1f}, "
              f"p50 {statistics.median(compile_ms):.1f}, max {max(compile_ms):.0f}; "
              f"{total.tokens} tokens walked; {elapsed:.1f} s total")
    if args.details:
        print_details(scores)
    if args.json:
        args.json.write_text(json.dumps([
            {"case": s.case, "subset": s.subset, "compiled": s.compiled, "exact": s.exact,
             "backend": s.backend, "compile_error": s.compile_error, "note": s.note,
             "compile_ms": round(s.compile_ms, 2), "passed": s.passed,
             "instances": [{"valid": o.valid, "accepted": o.result.accepted,
                            "rejected_at": o.result.rejected_at, "reason": o.result.reason}
                           for o in s.outcomes]}
            for s in scores], indent=1))
    return 1 if total.false_accepts or total.inconsistencies else 0


if __name__ == "__main__":
    sys.exit(main())
