"""Reading messy answers: the strict chain, the tolerant parser, json-repair and Python
``instructor`` 1.17, side by side over ``benchmarks/data/messy_answers.jsonl``, plus the speed of
reading a 2 KB answer and of messy answers from 2 to 128 KB (linear in the answer's length).
Compare two runs row by row with ``benchmarks/parsing_compare.py``.

    PYTHONPATH=. .venv/bin/python benchmarks/parsing.py [--instructor-python .venv-bench/bin/python]

For each answer, each reader gives a value or refuses; a value must then pass validation (the
row's JSON schema, as the SDK's schema stage checks it; instructor validates with pydantic in lax
mode, as it does itself). For the answers with one reading: read correctly, refused (a retry) or
read wrongly (a wrong value accepted). For the ambiguous ones (no single reading) refusing is
correct and any value is counted as accepted wrongly. Prints markdown tables (all answers, per
source, then the answers collected through llama-cpp-python's server: all of them, and per mode and
model) and writes ``benchmarks/results/parsing.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import json_repair
from jsonschema import Draft202012Validator

from instructor_py.pipeline.extraction import extract_json
from instructor_py.pipeline.tolerant import ParseResult, parse_tolerant
from instructor_py.pipeline.tolerant.loose import same  # equal as JSON values

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "data" / "messy_answers.jsonl"
RESULTS = ROOT / "results" / "parsing.json"
sys.path.insert(0, str(ROOT))
from results import Chart, Table, save  # noqa: E402

_REFUSED = object()

Reader = Callable[[str, dict[str, Any]], Any]


def strict_chain(text: str, schema: dict[str, Any]) -> Any:
    """Today's strict chain: the whole text, a fenced block, the first balanced braces."""
    found = extract_json(text)
    return _REFUSED if found is None else found.value


def tolerant(text: str, schema: dict[str, Any]) -> Any:
    result = parse_tolerant(text, schema)
    return result.value if isinstance(result, ParseResult) else _REFUSED


def json_repair_reader(text: str, schema: dict[str, Any]) -> Any:
    try:
        value = json_repair.loads(text)
    except Exception:
        return _REFUSED
    return _REFUSED if value == "" and text.strip() != '""' else value


READERS: dict[str, Reader] = {
    "strict chain": strict_chain,
    "tolerant parser": tolerant,
    "json-repair": json_repair_reader,
}


def outcome(row: dict[str, Any], value: Any, valid: bool) -> str:
    accepted = value is not _REFUSED and valid
    if row["ambiguous"]:
        return "accepted" if accepted else "refused"
    if not accepted:
        return "refused"
    return "correct" if same(value, row["expected"]) else "wrong"


def run_ours(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {name: {} for name in READERS}
    for row in rows:
        validator = Draft202012Validator(row["schema"])
        for name, reader in READERS.items():
            value = reader(row["text"], row["schema"])
            valid = value is not _REFUSED and validator.is_valid(value)
            out[name][row["id"]] = outcome(row, value, valid)
    return out


def run_instructor(rows: list[dict[str, Any]], python: str) -> dict[str, dict[str, str]]:
    script = ROOT / "parsing_instructor.py"
    feed = "".join(json.dumps(r) + "\n" for r in rows)
    done = subprocess.run(
        [python, str(script)], input=feed, capture_output=True, text=True, check=True
    )
    by_id = {r["id"]: r for r in rows}
    out: dict[str, dict[str, str]] = {"instructor 1.17 JSON": {}, "instructor 1.17 MD_JSON": {}}
    for line in done.stdout.splitlines():
        got = json.loads(line)
        row = by_id[got["id"]]
        for mode in ("JSON", "MD_JSON"):
            read = got[mode]
            value = read.get("value", _REFUSED)
            out[f"instructor 1.17 {mode}"][row["id"]] = outcome(row, value, "value" in read)
    return out


def table(rows: list[dict[str, Any]], results: dict[str, dict[str, str]]) -> tuple[str, dict[str, Any]]:
    single = [r for r in rows if not r["ambiguous"]]
    ambiguous = [r for r in rows if r["ambiguous"]]
    lines = [
        f"| reader | read correctly (of {len(single)}) | refused | read wrongly "
        f"| ambiguous refused (of {len(ambiguous)}) | ambiguous accepted |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    summary: dict[str, Any] = {}
    for name, by_id in results.items():
        counts = {k: sum(by_id[r["id"]] == k for r in single) for k in ("correct", "refused", "wrong")}
        amb = {k: sum(by_id[r["id"]] == k for r in ambiguous) for k in ("refused", "accepted")}
        n = max(1, len(single))
        lines.append(
            f"| {name} | {counts['correct']} ({100 * counts['correct'] / n:.1f}%) "
            f"| {counts['refused']} ({100 * counts['refused'] / n:.1f}%) "
            f"| {counts['wrong']} ({100 * counts['wrong'] / n:.1f}%) "
            f"| {amb['refused']} | {amb['accepted']} |"
        )
        summary[name] = {"unambiguous": counts, "ambiguous": amb}
    return "\n".join(lines), summary


def by_source(rows: list[dict[str, Any]], results: dict[str, dict[str, str]]) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row["source"].split(":")[0]
        groups.setdefault(key, []).append(row)
    names = list(results)
    lines = ["| source | cases | " + " | ".join(names) + " |", "| --- | --- |" + " --- |" * len(names)]
    for key, group in sorted(groups.items()):
        good = [
            sum(results[n][r["id"]] in ("correct",) or (r["ambiguous"] and results[n][r["id"]] == "refused") for r in group)
            for n in names
        ]
        lines.append(f"| {key} | {len(group)} | " + " | ".join(str(g) for g in good) + " |")
    return "\n".join(lines)


def server_subsets(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The answers collected through llama-cpp-python's server: all of them, then per source
    (mode and model, e.g. ``llama-server-json:gemma3-270m``)."""
    server = [r for r in rows if r["source"].startswith("llama-server")]
    subsets: dict[str, list[dict[str, Any]]] = {"llama-server (all)": server} if server else {}
    for row in server:
        subsets.setdefault(row["source"], []).append(row)
    return subsets


# -- speed ------------------------------------------------------------------------------------

ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "age": {"type": "integer"},
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "email", "age", "score", "active", "tags"],
}
SPEED_SCHEMA = {
    "type": "object",
    "properties": {"people": {"type": "array", "items": ITEM_SCHEMA}},
    "required": ["people"],
}


def _people(n: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"Person Number {i}",
            "email": f"person{i}@example.com",
            "age": 20 + i,
            "score": 3.25 * i,
            "active": i % 2 == 0,
            "tags": ["alpha", "beta"],
        }
        for i in range(n)
    ]


def messy_answer(n: int) -> str:
    """A messy answer listing ``n`` people (16 make about 2 KB): unquoted keys, single quotes,
    Python literals, trailing commas, fenced with prose around it."""
    messy_items = ",\n".join(
        f"  {{name: '{p['name']}', email: '{p['email']}', age: {p['age']}, score: {p['score']}, "
        f"active: {p['active']!s}, tags: ['alpha', 'beta',],}}"
        for p in _people(n)
    )
    return f"Here you go:\n```json\n{{people: [\n{messy_items},\n]}}\n```\nDone."


def answers_2kb() -> tuple[str, str]:
    """A strict JSON answer and a messy one, about 2 KB each (the messy one is denser)."""
    return json.dumps({"people": _people(12)}, indent=1), messy_answer(16)


def per_call_us(fn: Callable[[], Any], budget_s: float = 1.5) -> float:
    """Microseconds of CPU time per call: the best of several timed batches (CPU time, not wall
    time, and the best batch, because the machine is shared with other work)."""
    fn()
    start = time.process_time()
    n = 0
    while time.process_time() - start < 0.1:
        fn()
        n += 1
    batch = max(1, n)
    samples = []
    deadline = time.process_time() + budget_s
    while time.process_time() < deadline or len(samples) < 5:
        t0 = time.process_time()
        for _ in range(batch):
            fn()
        samples.append((time.process_time() - t0) / batch * 1e6)
    return min(samples)


def speed() -> tuple[str, dict[str, Any]]:
    valid, messy = answers_2kb()
    assert {"people": _people(16)} == parse_tolerant(messy, SPEED_SCHEMA).value  # type: ignore[union-attr]
    cases = {
        "json.loads (valid)": lambda: json.loads(valid),
        "tolerant parser (valid)": lambda: parse_tolerant(valid, SPEED_SCHEMA),
        "json_repair.loads (valid)": lambda: json_repair.loads(valid),
        "tolerant parser (messy)": lambda: parse_tolerant(messy, SPEED_SCHEMA),
        "json_repair.loads (messy)": lambda: json_repair.loads(messy),
    }
    timings = {name: per_call_us(fn) for name, fn in cases.items()}
    base = timings["json.loads (valid)"]
    lines = [
        f"2 KB answers: valid {len(valid)} chars, messy {len(messy)} chars (unquoted keys, single "
        "quotes, Python literals, trailing commas, fenced with prose).",
        "",
        "| reader | µs per call (CPU time, best batch) | times json.loads |",
        "| --- | --- | --- |",
    ]
    for name, us in timings.items():
        lines.append(f"| {name} | {us:.1f} | {us / base:.1f} |")
    scaling_lines, scaling = linearity()
    summary = {"chars": {"valid": len(valid), "messy": len(messy)}, "us_per_call": timings}
    return "\n".join([*lines, "", *scaling_lines]), {**summary, "scaling": scaling}


SCALING_KB = (2, 8, 32, 128)


def linearity() -> tuple[list[str], list[dict[str, Any]]]:
    """Messy answers of 2 to 128 KB (the 2 KB one above, with 4x, 16x and 64x the people): the
    time per KB must stay flat for the reading to be linear in the answer's length."""
    lines = [
        "Linear in the answer's length: the same messy answer with more people (the time per KB "
        "stays flat).",
        "",
        "| messy answer | chars | tolerant parser µs per call | µs per KB | "
        "json_repair.loads µs per call | json-repair / tolerant |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rows: list[dict[str, Any]] = []
    texts = {kb: messy_answer(16 * kb // 2) for kb in SCALING_KB}
    best: dict[tuple[str, int], float] = {}
    for _ in range(2):  # two rounds, the best of each: a burst of other work hits one of them
        for kb, text in texts.items():
            for name, fn in (("ours", partial(parse_tolerant, text, SPEED_SCHEMA)),
                             ("theirs", partial(json_repair.loads, text))):
                best[name, kb] = min(best.get((name, kb), float("inf")), per_call_us(fn, 0.6))
    for kb, text in texts.items():
        ours, theirs = best["ours", kb], best["theirs", kb]
        per_kb = ours / (len(text) / 1024)
        lines.append(
            f"| {kb} KB | {len(text)} | {ours:.1f} | {per_kb:.1f} | {theirs:.1f} | {theirs / ours:.1f}x |"
        )
        rows.append({"kb": kb, "chars": len(text), "tolerant_us": ours, "tolerant_us_per_kb": per_kb,
                     "json_repair_us": theirs})
    return lines, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instructor-python", default=str(ROOT.parent / ".venv-bench" / "bin" / "python"))
    args = parser.parse_args()
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    results = run_ours(rows)
    instructor_note = f"instructor 1.17 run with {args.instructor_python}"
    if Path(args.instructor_python).exists():
        results.update(run_instructor(rows, args.instructor_python))
    else:
        instructor_note = f"instructor 1.17 not run: {args.instructor_python} does not exist (make bench-env)"
    main_table, summary = table(rows, results)
    print(f"## Reading {len(rows)} messy answers ({CORPUS.name})\n")
    print(main_table)
    print(f"\n{instructor_note}. Validation: the row's JSON schema (jsonschema) for the first three; "
          "pydantic lax mode for instructor (top-level non-object schemas through a TypeAdapter).\n")
    print("### Cases handled right (read correctly, or an ambiguous one refused), by source\n")
    print(by_source(rows, results))
    subset_summary: dict[str, Any] = {}
    for name, subset in server_subsets(rows).items():
        subset_table, subset_summary[name] = table(subset, results)
        print(f"\n### Subset: {name} ({len(subset)} answers)\n")
        print(subset_table)
    speed_table, speed_summary = speed()
    print("\n## Speed\n")
    print(speed_table)
    unambiguous = len(rows) - sum(r["ambiguous"] for r in rows)
    save(
        "parsing",
        [Table(f"Reading {len(rows)} messy answers", ["reader", "correct", "refused", "wrong"],
               [[name, v["unambiguous"]["correct"], v["unambiguous"]["refused"], v["unambiguous"]["wrong"]]
                for name, v in summary.items()])]
        + [Table(f"Subset {name}", ["reader", "correct", "refused", "wrong"],
                 [[reader, v["unambiguous"]["correct"], v["unambiguous"]["refused"], v["unambiguous"]["wrong"]]
                  for reader, v in sub.items()])
           for name, sub in subset_summary.items()],
        [Chart("parsing-read", f"Messy answers with one reading ({unambiguous}): % read correctly "
               "and % read wrongly", "bar", ["read correctly %", "read wrongly %"],
               {name: [round(100 * v["unambiguous"]["correct"] / unambiguous, 1),
                       round(100 * v["unambiguous"]["wrong"] / unambiguous, 1)]
                for name, v in summary.items()}, ylabel="% of answers"),
         Chart("parsing-speed", "Reading a 2 KB answer: microseconds per call (CPU)", "bar",
               list(speed_summary["us_per_call"]),
               {"us per call": [round(float(v), 1) for v in speed_summary["us_per_call"].values()]},
               ylabel="microseconds (log)", log_y=True),
         Chart("parsing-linear", "Reading messy answers of 2 to 128 KB: microseconds per KB (CPU)",
               "line", [f"{r['kb']} KB" for r in speed_summary["scaling"]],
               {"tolerant parser": [round(r["tolerant_us_per_kb"], 1) for r in speed_summary["scaling"]],
                "json_repair.loads": [round(r["json_repair_us"] / (r["chars"] / 1024), 1)
                                      for r in speed_summary["scaling"]]},
               xlabel="answer size", ylabel="microseconds per KB (log)", log_y=True)],
        corpus=str(CORPUS.relative_to(ROOT.parent)),
        cases=len(rows),
        ambiguous=sum(r["ambiguous"] for r in rows),
        instructor=instructor_note,
        summary=summary,
        subsets=subset_summary,
        per_case=results,
        speed=speed_summary,
    )

if __name__ == "__main__":
    main()
