"""StructuringEngine benchmark: the engine API against what a user would otherwise write.

1. **Per-token cost** of ``process_logits`` + ``sample`` against raw llguidance with numpy, on the
   same tokens: compact JSON instances of a few schemas, tokenized by the model's tokenizer, walked
   token by token. Per step both sides mask a fresh logits row (SmolLM2's 49,152 columns), pick
   the instance's next token and advance:

   - ``engine``: ``engine.process_logits(input_ids, logits)`` then ``engine.sample(logits,
     sampler)`` (the default configuration: input ids passed, as a generation loop does);
   - ``engine, input_ids=None``: the same without the ids (the caller samples through the engine,
     so there is nothing to read back);
   - ``llguidance + llguidance.numpy``: ``LLMatcher`` with the same grammar and tokenizer,
     ``llguidance.numpy.fill_next_token_bitmask`` + ``apply_token_bitmask_inplace``, the sampler,
     ``consume_token``: llguidance's own numpy integration;
   - ``llguidance + fast numpy apply``: the same with the fastest numpy masking we have
     (``instructor_py.local.apply_bitmask``): the tuned baseline;
   - ``llguidance, cached mask pointer + fast apply``: ``unsafe_compute_mask_ptr`` into a
     bitmask whose address is read once: the least Python a raw loop can have (the floor).

   The five are timed one after another at every token, in a rotating order; each gets its own
   copy of the logits row, made before its clock starts, and each raw matcher is compiled on its
   own (copies of one would share a lexer cache that the first to run warms for the others).

2. **Wall time per extraction** through the llama-cpp-python adapter (``create_completion`` with
   ``logits_processor=engine.llama_logits_processor()`` and ``stopping_criteria=...``) against
   llama-cpp-python's own grammar (``LlamaGrammar.from_json_schema``, the same schema), greedy,
   ``max_tokens=120``, on the embedded SmolLM2 model, both on one ``Llama`` object built with
   llama-cpp-python's defaults; beside them our own loop over the engine API with
   ``multi_token_sampling=True`` (the forced tokens evaluated in one batched pass) and the floor
   (unconstrained decoding of as many tokens as the adapter wrote). Then where the time goes per
   token (forward pass, each sampler chain's sampling step, the time inside the engine), and the
   same rows with tuned thread counts.

    PYTHONPATH=. python benchmarks/engine_api.py [--repeat R] [--runs N] [--tuned-threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for
from instructor_py.local import (
    StructuringEngine,
    TokenizerInfo,
    apply_bitmask,
    embedded_model_path,
)
from instructor_py.schema.prep import close_object_schemas

S = Field(max_length=40)


class Person(BaseModel):
    name: str = S
    age: int = Field(ge=0, le=120)
    city: str = S


class Item(BaseModel):
    sku: str = S
    quantity: int = Field(ge=1, le=99)
    price: float


class Order(BaseModel):
    order_id: str = S
    status: str = Field(pattern="^(open|paid|shipped)$")
    items: list[Item] = Field(max_length=4)
    gift: bool


class Review(BaseModel):
    product: str = S
    rating: int = Field(ge=1, le=5)
    pros: list[str] = Field(max_length=3)
    verdict: str = Field(json_schema_extra={"enum": ["buy", "skip"]})


INSTANCES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (Person, {"name": "Jason Miller", "age": 25, "city": "San Francisco"}),
    (Person, {"name": "Émilie Dubois", "age": 41, "city": "Lyon"}),
    (
        Order,
        {
            "order_id": "A-1029",
            "status": "paid",
            "items": [
                {"sku": "KB-17", "quantity": 2, "price": 49.5},
                {"sku": "MS-2", "quantity": 1, "price": 19.99},
            ],
            "gift": False,
        },
    ),
    (
        Review,
        {
            "product": "Aero 14 laptop",
            "rating": 4,
            "pros": ["light", "quiet keyboard", "battery"],
            "verdict": "buy",
        },
    ),
]

PROMPTS: list[tuple[type[BaseModel], str]] = [
    (Person, "Jason is 25 years old and lives in San Francisco."),
    (Person, "Maria, 31, moved to Lisbon last year."),
    (Review, "The Aero 14 is light and quiet; battery is great. 4 stars, I'd buy it."),
    (Item, "Two KB-17 keyboards at 49.50 each."),
]


def closed(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema with every object closed (``additionalProperties: false``), as the SDK
    sends it: both engines get the same schema."""
    schema: dict[str, Any] = close_object_schemas(model.model_json_schema())
    return schema


def chat(text: str) -> str:
    return (
        "<|im_start|>system\nExtract the data as JSON.<|im_end|>\n"
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    )


# --- 1. per-token cost ---------------------------------------------------------------------------


def per_token(llama: Any, repeat: int) -> dict[str, list[int]]:
    info = TokenizerInfo.from_llama(llama)
    base = np.random.default_rng(0).normal(0, 3, info.logits_width).astype(np.float32)
    times: dict[str, list[int]] = {k: [] for k in ENGINES}
    for _ in range(repeat):
        for model, instance in INSTANCES:
            text = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
            tokens = [*info.tokenize(text), info.eos_token_ids[0]]
            walk(info, base, closed(model), tokens, times)
    return times


def walk(
    info: TokenizerInfo,
    base: np.ndarray,
    schema: dict[str, Any],
    tokens: list[int],
    times: dict[str, list[int]],
) -> None:
    """One instance, token by token, through the four engines in a rotating order."""
    import llguidance as llg
    import llguidance.numpy as llnp

    width = info.logits_width
    engine = StructuringEngine(info)
    engine.configure(schema)
    quiet = StructuringEngine(info)
    quiet.configure(schema)
    grammar = llg.LLMatcher.grammar_from_json_schema(
        json.dumps(schema),
        overrides={"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"},  # type: ignore[arg-type]
    )
    lltok = lltokenizer_for(info)  # the same tokenizer on both sides
    # each matcher compiled on its own: copies would share (and warm) one lexer cache
    raw1, raw2, raw3 = (llg.LLMatcher(lltok, grammar, log_level=0) for _ in range(3))
    bm1 = llnp.allocate_token_bitmask(1, width)
    bm2 = llnp.allocate_token_bitmask(1, width)
    bm3 = llnp.allocate_token_bitmask(1, width)
    ptr3, size3 = int(bm3.ctypes.data), bm3.shape[1] * 4
    ids = np.zeros(len(tokens) + 3, dtype=np.int64)  # the loop's token buffer
    used = [3]

    def ours(t: int, logits: np.ndarray) -> None:
        scores = engine.process_logits(ids[: used[0]], logits)
        engine.sample(scores, lambda _x: t)

    def ours_quiet(t: int, logits: np.ndarray) -> None:
        scores = quiet.process_logits(None, logits)
        quiet.sample(scores, lambda _x: t)

    def raw_numpy(t: int, logits: np.ndarray) -> None:
        llnp.fill_next_token_bitmask(raw1, bm1)
        llnp.apply_token_bitmask_inplace(logits, bm1)
        raw1.consume_token((lambda _x: t)(logits))

    def raw_fast(t: int, logits: np.ndarray) -> None:
        llnp.fill_next_token_bitmask(raw2, bm2)
        apply_bitmask(logits, bm2[0], info.vocab_size)
        raw2.consume_token((lambda _x: t)(logits))

    def raw_floor(t: int, logits: np.ndarray) -> None:
        raw3.unsafe_compute_mask_ptr(ptr3, size3)
        apply_bitmask(logits, bm3[0], info.vocab_size)
        raw3.consume_token((lambda _x: t)(logits))

    fns: dict[str, Callable[[int, np.ndarray], None]] = dict(
        zip(ALL_ENGINES, (ours, ours_quiet, raw_numpy, raw_fast, raw_floor), strict=True)
    )
    names = [n for n in ALL_ENGINES if n in times]
    k = len(names)
    for step, t in enumerate(tokens):
        order = names[step % k :] + names[: step % k]
        fresh = [base.copy() for _ in order]  # a new logits row each, made before the clock starts
        for name, logits in zip(order, fresh, strict=True):
            t0 = time.perf_counter_ns()
            fns[name](t, logits)
            times[name].append(time.perf_counter_ns() - t0)
        ids[used[0]] = t
        used[0] += 1
    raws = [r.is_accepting() and not r.is_error() for r in (raw1, raw2, raw3)]
    done = [engine.has_reached_accept_state, quiet.has_reached_accept_state, *raws]
    for name, ok in zip(ALL_ENGINES, done, strict=True):
        assert ok or name not in names, f"{name} did not accept the instance"


ALL_ENGINES = [
    "engine (input_ids given)",
    "engine, input_ids=None",
    "llguidance + llguidance.numpy",
    "llguidance + fast numpy apply",
    "llguidance, cached mask pointer + fast apply",
]
ENGINES = list(ALL_ENGINES)


# --- 2. wall per extraction ----------------------------------------------------------------------


def extraction(llama: Any, repeat: int) -> dict[str, dict[str, list[float]]]:
    import llama_cpp

    results: dict[str, dict[str, list[float]]] = {
        k: {"wall": [], "tokens": [], "passes": [], "valid": []} for k in RUNS
    }
    engines = {m: StructuringEngine(llama) for m, _ in PROMPTS}
    fast = {m: StructuringEngine(llama, multi_token_sampling=True) for m, _ in PROMPTS}
    for m, e in engines.items():
        e.configure(closed(m))
        fast[m].configure(closed(m))

    def adapter(model: type[BaseModel], prompt: str) -> tuple[str, int, int]:
        e = engines[model]
        out = llama.create_completion(
            prompt,
            max_tokens=120,
            temperature=0,
            logits_processor=e.llama_logits_processor(),
            stopping_criteria=e.llama_stopping_criteria(),
        )
        n = out["usage"]["completion_tokens"]
        return out["choices"][0]["text"], n, n  # one forward pass per token

    def grammar(model: type[BaseModel], prompt: str) -> tuple[str, int, int]:
        g = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(closed(model)), verbose=False)
        out = llama.create_completion(prompt, max_tokens=120, temperature=0, grammar=g)
        n = out["usage"]["completion_tokens"]
        return out["choices"][0]["text"], n, n  # one forward pass per token

    def own_loop(model: type[BaseModel], prompt: str) -> tuple[str, int, int]:
        e = fast[model]
        e.reset()
        ids = list(llama.tokenize(prompt.encode(), add_bos=False, special=True))
        llama.reset()
        llama.eval(ids)
        n = passes = 0
        for _ in range(120):
            view = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),)
            )
            scores = e.process_logits(None, view)
            new = [int(t) for t in e.sample(scores, np.argmax)]
            n += len(new)
            passes += 1  # the logits of this step came from one (batched) forward pass
            if e.is_terminated:
                break
            llama.eval(new)
        return e.steppers[0].text, n, passes

    budget: dict[str, int] = {}

    def unconstrained(model: type[BaseModel], prompt: str) -> tuple[str, int, int]:
        out = llama.create_completion(prompt, max_tokens=budget.get(prompt, 30), temperature=0)
        n = out["usage"]["completion_tokens"]
        return out["choices"][0]["text"], n, n  # one forward pass per token

    fns = {RUNS[0]: adapter, RUNS[1]: grammar, RUNS[2]: own_loop, RUNS[3]: unconstrained}
    for r in range(repeat):
        for k, (model, text) in enumerate(PROMPTS):
            prompt = chat(text)
            if prompt not in budget:  # the floor generates as many tokens as the adapter's output
                budget[prompt] = adapter(model, prompt)[1]
            order = RUNS[(r + k) % 4 :] + RUNS[: (r + k) % 4]
            for name in order:
                llama.reset()  # every run evaluates its prompt
                t0 = time.perf_counter()
                out, n, passes = fns[name](model, prompt)
                results[name]["wall"].append(time.perf_counter() - t0)
                results[name]["tokens"].append(n)
                results[name]["passes"].append(passes)
                try:
                    model.model_validate_json(out)
                    results[name]["valid"].append(1.0)
                except ValueError:
                    results[name]["valid"].append(0.0)
    results[RUNS[3]]["valid"].clear()  # the floor is unconstrained: validity is not its measure
    return results


RUNS = [
    "engine via llama-cpp-python adapter",
    "llama-cpp-python grammar",
    "engine API loop, multi_token_sampling",
    "llama-cpp-python unconstrained (floor)",
]


def where_time_goes(llama: Any) -> dict[str, dict[str, list[float]]]:
    """Per generated token, in llama-cpp-python's own sampler chain (what ``create_completion``
    builds): the forward pass (``Llama.eval`` of one token), and the sampling step with the
    llama.cpp grammar, with the engine's logits processor (llama-cpp-python's custom-sampler
    wrapper included; the time inside the engine's processor alone beside it), and plain greedy.
    The first two prompts and schemas of the extraction runs."""
    import llama_cpp

    out: dict[str, dict[str, list[float]]] = {
        k: {"forward": [], "sample": [], "inside": [], "prompt": []} for k in CHAINS
    }
    eos = llama.token_eos()
    for model, text in PROMPTS[:2]:
        prompt_ids = llama.tokenize(chat(text).encode(), add_bos=False, special=True)
        engine = StructuringEngine(llama)
        engine.configure(closed(model))
        for name in CHAINS:
            inside = out[name]["inside"]
            kw: dict[str, Any] = {}
            if name == CHAINS[0]:
                proc = engine.llama_logits_processor()[0]

                def timed(ids: Any, scores: Any, proc: Any = proc, inside: Any = inside) -> Any:
                    t0 = time.perf_counter()
                    res = proc(ids, scores)
                    inside.append(time.perf_counter() - t0)
                    return res

                kw["logits_processor"] = llama_cpp.LogitsProcessorList([timed])
            elif name == CHAINS[1]:
                kw["grammar"] = llama_cpp.LlamaGrammar.from_json_schema(
                    json.dumps(closed(model)), verbose=False
                )
            llama.reset()
            t0 = time.perf_counter()
            llama.eval(prompt_ids)
            out[name]["prompt"].append(time.perf_counter() - t0)
            sampler = llama._init_sampler(temp=0.0, repeat_penalty=1.0, **kw)
            for _ in range(40):
                t0 = time.perf_counter()
                token = sampler.sample(llama._ctx, -1)
                out[name]["sample"].append(time.perf_counter() - t0)
                if token == eos or (name == CHAINS[0] and engine.is_terminated):
                    break
                t0 = time.perf_counter()
                llama.eval([token])
                out[name]["forward"].append(time.perf_counter() - t0)
    return out


CHAINS = ["engine processor", "llama.cpp grammar", "greedy only"]


def valid(flags: list[float]) -> str:
    return f"{100 * statistics.fmean(flags):.0f}%" if flags else "-"


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def print_per_token(llama: Any, times: dict[str, list[int]]) -> None:
    n = len(times[ENGINES[0]])
    print(
        f"\n## Per-token cost (SmolLM2, {llama.n_vocab()} tokens; {n} tokens x {len(ENGINES)} "
        f"engines, interleaved; load average {load()})\n"
    )
    print(
        "| | median µs/token | mean µs/token | engine / this: ratio of medians "
        "| median of per-token ratios |"
    )
    print("|---|---:|---:|---:|---:|")
    ours = times[ENGINES[0]]
    med0 = statistics.median(ours)
    for name in ENGINES:
        med = statistics.median(times[name])
        paired = statistics.median(a / b for a, b in zip(ours, times[name], strict=True))
        print(
            f"| {name} | {med / 1000:.1f} | {statistics.fmean(times[name]) / 1000:.1f} | "
            f"{med0 / med:.2f}x | {paired:.2f}x |"
        )


def print_extraction(label: str, res: dict[str, dict[str, list[float]]], repeat: int) -> None:
    print(
        f"\n## Wall per extraction, {label} (greedy, max_tokens=120, {len(PROMPTS)} prompts x "
        f"{repeat}; load average {load()})\n"
    )
    print(
        "| | wall ms/extraction (median) | total s | tokens | forward passes | schema-valid "
        "| grammar total / this total |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    g = sum(res[RUNS[1]]["wall"])
    for name in RUNS:
        w = res[name]["wall"]
        if not w:
            continue
        print(
            f"| {name} | {statistics.median(w) * 1000:.0f} | {sum(w):.2f} | "
            f"{statistics.fmean(res[name]['tokens']):.1f} | "
            f"{statistics.fmean(res[name]['passes']):.1f} | {valid(res[name]['valid'])} | "
            f"{g / sum(w):.2f}x |"
        )


def print_where(label: str, where: dict[str, dict[str, list[float]]], res: Any) -> None:
    print(f"\n## Where the time goes per token, {label} (medians; load average {load()})\n")
    print(
        "| sampler chain | forward pass ms | sampling step ms | inside the engine ms | prompt ms |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in CHAINS:
        w = where[name]
        inside = f"{ms(w['inside']):.3f}" if w["inside"] else "-"
        print(
            f"| {name} | {ms(w['forward']):.2f} | {ms(w['sample']):.3f} | {inside} | "
            f"{ms(w['prompt']):.0f} |"
        )
    fwd = ms(
        where[CHAINS[0]]["forward"] + where[CHAINS[1]]["forward"] + where[CHAINS[2]]["forward"]
    )
    prompt = ms(where[CHAINS[0]]["prompt"] + where[CHAINS[1]]["prompt"])
    n_ours = statistics.fmean(res[RUNS[0]]["tokens"])
    n_gram = statistics.fmean(res[RUNS[1]]["tokens"])
    g_tok = fwd + ms(where[CHAINS[1]]["sample"])
    o_tok = fwd + ms(where[CHAINS[0]]["sample"])
    free = fwd + ms(where[CHAINS[2]]["sample"])
    print(
        f"\nModel per extraction: prompt {prompt:.0f} ms + tokens x (forward + sampling). "
        f"Grammar: {prompt:.0f} + {n_gram:.1f} x {g_tok:.1f} ms; engine: {prompt:.0f} + "
        f"{n_ours:.1f} x {o_tok:.1f} ms -> expected speed-up "
        f"{(prompt + n_gram * g_tok) / (prompt + n_ours * o_tok):.2f}x; with an engine that cost "
        f"nothing over greedy sampling: {(prompt + n_gram * g_tok) / (prompt + n_ours * free):.2f}x."
    )


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the per-token walk")
    ap.add_argument("--runs", type=int, default=1, help="rounds of the extraction prompts")
    ap.add_argument(
        "--tuned-threads",
        default=str(min(2, os.cpu_count() or 2)),
        help="comma-separated decode-thread counts of the tuned rows ('' or 0: skip them)",
    )
    args = ap.parse_args()
    import llama_cpp

    path = str(embedded_model_path())
    # the default configuration: a user's Llama with its defaults (one decode thread on 2 cores)
    llama = llama_cpp.Llama(model_path=path, verbose=False)
    threads = (llama.context_params.n_threads, llama.context_params.n_threads_batch)

    print_per_token(llama, per_token(llama, args.repeat))

    label = f"Llama defaults (n_threads={threads[0]}, n_threads_batch={threads[1]})"
    res = extraction(llama, args.runs)
    print_extraction(label, res, args.runs)
    print_where(label, where_time_goes(llama), res)
    del llama

    for n in [int(x) for x in args.tuned_threads.split(",") if x.strip() and int(x)]:
        tuned = llama_cpp.Llama(model_path=path, n_threads=n, n_threads_batch=n, verbose=False)
        label = f"tuned: n_threads={n}, n_threads_batch={n}"
        res = extraction(tuned, args.runs)
        print_extraction(label, res, args.runs)
        print_where(label, where_time_goes(tuned), res)
        del tuned
    print(
        "\nGoals: engine / raw llguidance per token <= 1.15x; llama-cpp-python grammar / adapter "
        "wall >= 2x."
    )


if __name__ == "__main__":
    main()
