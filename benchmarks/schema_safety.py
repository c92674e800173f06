"""What the schema-safety layer costs, and what it saves, side by side in one run.

1. Validating answers: ``safe_validator`` (patterns on RE2) vs jsonschema's own
   ``Draft202012Validator`` (patterns on ``re``) on an ordinary schema with three patterns and a
   ``patternProperties``, many instances, CPU time per validation.
2. Building: ``check_schema`` (the hostile-schema walk: refs, limits, cycles, patterns) vs
   ``Draft202012Validator.check_schema`` (the meta-validation every build already does).
3. The hostile pattern ``^(a+)+$`` against n ``a`` and a ``!``: ``re`` (exponential in n) vs RE2.

Usage::

    PYTHONPATH=. python benchmarks/schema_safety.py
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from instructor_py.schema.safe_regex import compile_pattern
from instructor_py.schema.safe_validator import safe_validator
from instructor_py.schema.safety import check_schema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$"},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,30}$"}},
        "meta": {"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "string"}}, "additionalProperties": False},
    },
    "required": ["sku", "email"],
}
INSTANCES = [
    {"sku": f"ABC-{i:04d}", "email": f"user{i}@example.org", "tags": ["red", f"t{i}", "blue-2"], "meta": {"x-a": "1", "x-bb": "2"}}
    for i in range(200)
]


def cpu(fn: Callable[[], Any], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def big_schema(n: int) -> dict[str, Any]:
    props = {f"p{i}": {"type": "string", "pattern": f"^v{i}-[a-z]+$", "maxLength": 40} for i in range(n)}
    return {"type": "object", "properties": props, "$defs": {"d": {"type": "integer"}}, "required": list(props)[:5]}


def main() -> None:
    safe, plain = safe_validator(SCHEMA), Draft202012Validator(SCHEMA)
    assert all(safe.is_valid(x) == plain.is_valid(x) for x in INSTANCES)
    t_safe = cpu(lambda: [list(safe.iter_errors(x)) for x in INSTANCES]) / len(INSTANCES)
    t_plain = cpu(lambda: [list(plain.iter_errors(x)) for x in INSTANCES]) / len(INSTANCES)
    print("## Validating an answer (CPU us per instance, best of 5)\n")
    print("| validator | us/instance | ratio |\n|---|---:|---:|")
    print(f"| jsonschema Draft202012Validator (re) | {t_plain * 1e6:.1f} | 1.00x |")
    print(f"| instructor_py safe_validator (RE2) | {t_safe * 1e6:.1f} | {t_safe / t_plain:.2f}x |")

    print("\n## Building (CPU ms per schema, best of 5)\n")
    print("| properties | Draft202012Validator.check_schema | check_schema (ours) | ratio |\n|---:|---:|---:|---:|")
    for n in (10, 100, 1000):
        schema = big_schema(n)
        t_meta = cpu(lambda s=schema: Draft202012Validator.check_schema(s))
        t_ours = cpu(lambda s=schema: check_schema(s))
        print(f"| {n} | {t_meta * 1e3:.2f} | {t_ours * 1e3:.2f} | {t_ours / t_meta:.2f}x |")

    print("\n## The hostile pattern ^(a+)+$ against n a's and a '!' (CPU ms, one match)\n")
    print("| n | re | RE2 | re / RE2 |\n|---:|---:|---:|---:|")
    evil, safe_evil = re.compile("^(a+)+$"), compile_pattern("^(a+)+$")
    for n in (16, 20, 22, 24):
        text = "a" * n + "!"
        t_re = cpu(lambda t=text: evil.search(t), repeat=1)
        t_re2 = cpu(lambda t=text: safe_evil.search(t), repeat=5)
        print(f"| {n} | {t_re * 1e3:.1f} | {t_re2 * 1e3:.3f} | {t_re / max(t_re2, 1e-6):.0f}x |")
    print("\n(re doubles per extra 'a': at n=40, as in the issue, it runs for days; RE2 stays linear.)")


if __name__ == "__main__":
    main()
