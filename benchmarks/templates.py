"""Templates vs JSON schemas on the local engine: compile ms (cold and cached) and mask µs per
token, side by side in one run, on SmolLM2's 49k-token vocabulary.

For each case the same fields are asked for three ways:

- ``json schema``: ``ConstraintSpec.json_schema(schema)`` through the orchestrator (the llguidance
  backend; what ``response_model=...`` compiles to) -- the default, the baseline of the ratios;
- ``template``: ``template_constraint(...)``, a human-readable Guidance template with the same
  fields (``Name: {{gen ...}}``), through the orchestrator (the Guidance backend);
- ``schema->template``: ``GuidanceBackend.compile_json_schema(schema)``, the schema converted to a
  template with one json variable per property (the seed's path).

*Cold* compiles build a fresh orchestrator/backend each time (the tokenizer is shared, as in a
process that has loaded its model); *cached* compiles hit the compile cache (a clone of the
compiled prototype); both include building the spec (parsing the template, canonicalising the
schema), whose checks are cached per process. The mask cost walks a fixed answer (the template filled in, or the JSON text)
token by token and times only ``fill_next_token_bitmask``.

    PYTHONPATH=. python benchmarks/templates.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instructor_py.local import (
    ConstraintSpec,
    GuidanceBackend,
    Matcher,
    StructuredOutputOrchestrator,
    TokenizerInfo,
    allocate_bitmask,
    template_constraint,
)
from instructor_py.runtime.model import embedded_model_path


@dataclass(frozen=True)
class Case:
    name: str
    schema: dict[str, Any]
    template: str
    variables: dict[str, Any]
    template_answer: str
    json_answer: dict[str, Any]


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


NAME = {"type": "string", "maxLength": 40}
CASES = [
    Case(
        "person",
        _obj({"name": NAME, "age": {"type": "integer"}, "city": NAME}),
        "Name: {{gen 'name' regex='[A-Za-z ]{1,40}'}}\nAge: {{gen 'age' regex='[0-9]{1,3}'}}\n"
        "City: {{gen 'city' regex='[A-Za-z ]{1,40}'}}",
        {},
        "Name: Maria Lopez\nAge: 31\nCity: Madrid",
        {"name": "Maria Lopez", "age": 31, "city": "Madrid"},
    ),
    Case(
        "review",
        _obj(
            {
                "sentiment": {"enum": ["positive", "negative", "neutral"]},
                "score": {"type": "integer"},
                "summary": {"type": "string", "maxLength": 120},
            }
        ),
        "Sentiment: {{select 'sentiment' options=['positive', 'negative', 'neutral']}}\n"
        "Score: {{gen 'score' regex='[0-9]{1,2}'}}\nSummary: {{gen 'summary' stop='\\n' max_tokens=40}}",
        {},
        "Sentiment: positive\nScore: 9\nSummary: Great battery, bright screen, a bit heavy.\n",
        {
            "sentiment": "positive",
            "score": 9,
            "summary": "Great battery, bright screen, a bit heavy.",
        },
    ),
    Case(
        "order",
        _obj(
            {
                "customer": NAME,
                "items": {
                    "type": "array",
                    "items": _obj(
                        {"sku": {"type": "string", "maxLength": 12}, "qty": {"type": "integer"}}
                    ),
                    "maxItems": 5,
                },
            }
        ),
        "Customer: {{gen 'customer' regex='[A-Za-z ]{1,40}'}}\nItems: {{json 'items' schema=Items}}",
        {
            "Items": {
                "type": "array",
                "items": _obj(
                    {"sku": {"type": "string", "maxLength": 12}, "qty": {"type": "integer"}}
                ),
                "maxItems": 5,
            }
        },
        'Customer: Ada Byron\nItems: [{"sku":"A-100","qty":2},{"sku":"B-7","qty":1}]',
        {"customer": "Ada Byron", "items": [{"sku": "A-100", "qty": 2}, {"sku": "B-7", "qty": 1}]},
    ),
]


def load_tokenizer() -> TokenizerInfo:
    import llama_cpp

    path = embedded_model_path()
    llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    return TokenizerInfo.from_llama(llama)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def mask_us(matcher: Matcher, info: TokenizerInfo, text: str) -> float:
    """Median µs of one mask fill, walking ``text``'s tokens."""
    ids = info.tokenize(text)
    mask = allocate_bitmask(1, info.logits_width)
    times: list[float] = []
    for t in ids:
        t0 = time.perf_counter_ns()
        matcher.fill_next_token_bitmask(mask, 0)
        times.append((time.perf_counter_ns() - t0) / 1000)
        if not matcher.accept_token(t):
            raise SystemExit(f"the answer {text!r} does not fit its constraint at token {t}")
    return statistics.median(times)


@dataclass
class Row:
    case: str
    engine: str
    cold_ms: float
    cached_ms: float
    mask_us: float
    tokens: int


def measure(case: Case, info: TokenizerInfo, repeat: int) -> list[Row]:
    """Each repeat measures the three engines one after another, in a rotating order, so that
    none always runs on a quieter (or busier) moment of a shared machine."""
    json_text = json.dumps(case.json_answer, separators=(",", ":"))

    def json_schema() -> tuple[float, float, float]:
        orch = StructuredOutputOrchestrator(info)
        cold, handle = timed(lambda: orch.compile(ConstraintSpec.json_schema(case.schema)))
        cached, again = timed(lambda: orch.compile(ConstraintSpec.json_schema(case.schema)))
        assert again.cache_hit
        return cold, cached, mask_us(handle.matcher, info, json_text)

    def template() -> tuple[float, float, float]:
        orch = StructuredOutputOrchestrator(info)
        spec = lambda: template_constraint(case.template, case.variables)  # noqa: E731
        cold, handle = timed(lambda: orch.compile(spec()))
        cached, again = timed(lambda: orch.compile(spec()))
        assert again.cache_hit and handle.backend == "guidance"
        return cold, cached, mask_us(handle.matcher, info, case.template_answer)

    def schema_to_template() -> tuple[float, float, float]:
        backend = GuidanceBackend(info)
        cold, grammar = timed(lambda: backend.compile_json_schema(case.schema))
        cached, _ = timed(lambda: backend.compile_json_schema(case.schema))
        return cold, cached, mask_us(grammar, info, json_text)

    engines: list[tuple[str, Callable[[], tuple[float, float, float]], str]] = [
        ("json schema", json_schema, json_text),
        ("template", template, case.template_answer),
        ("schema->template", schema_to_template, json_text),
    ]
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in engines}
    for r in range(repeat):
        for name, run, _ in engines[r % 3 :] + engines[: r % 3]:
            samples[name].append(run())
    rows = []
    for name, _, answer in engines:
        cold, cached, mask = zip(*samples[name], strict=True)
        rows.append(
            Row(
                case.name,
                name,
                statistics.median(cold),
                statistics.median(cached),
                statistics.median(mask),
                len(info.tokenize(answer)),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    info = load_tokenizer()
    # warm-up: one-time costs (llguidance's lazy statics, the tokenizer's trie) out of the rows
    warm = StructuredOutputOrchestrator(info)
    warm.compile(ConstraintSpec.json_schema({"type": "object", "properties": {"w": NAME}}))
    warm.compile(template_constraint("w: {{gen 'w' regex='[a-z]+'}}"))
    print(f"tokenizer: SmolLM2, {info.vocab_size} tokens; median of {args.repeat} runs\n")
    header = f"{'case':<8} {'engine':<17} {'cold ms':>9} {'cached ms':>10} {'mask µs/tok':>12} {'tokens':>7}   {'cold x':>7} {'cached x':>9} {'mask x':>7}"
    print(header)
    print("-" * len(header))
    for case in CASES:
        rows = measure(case, info, args.repeat)
        base = rows[0]
        for r in rows:
            print(
                f"{r.case:<8} {r.engine:<17} {r.cold_ms:>9.2f} {r.cached_ms:>10.3f} {r.mask_us:>12.1f} {r.tokens:>7}"
                f"   {r.cold_ms / base.cold_ms:>7.2f} {r.cached_ms / base.cached_ms:>9.2f} {r.mask_us / base.mask_us:>7.2f}"
            )
    print("\nratios (x) are against the json schema row of the same case (lower is cheaper)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
