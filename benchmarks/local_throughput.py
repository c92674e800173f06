"""Local throughput: concurrent extractions decoded together vs one after the other, and
prompt-lookup drafting on vs off, on the embedded model, side by side in one run.

1. **Concurrency.** Two workloads through the public API (``StructuredOutput...create()``),
   ``c`` at a time from threads, for c = 1 (one after the other), 4, 8 and 16: *one schema*
   (distinct invoice texts for one ``Invoice`` model: a batch over a file, where the system
   prompt with the schema is shared) and *mixed schemas* (the invoice-style set of ``loops.py``
   and an even spread of the BFCL simple_python dev split, a schema each). Each run starts from
   an empty batch context. Printed: extractions per second, the speed-up over c = 1, per-request
   latency (p50, p95, and p50 over a request alone), and how many first attempts gave the same
   tokens as in the sequential run. The sequential run is repeated at the end and both runs are
   averaged (the machine is shared: the spread between them is printed).
2. **A request alone, before vs after.** One request at a time through the lock-based
   one-sequence decoder (``LlamaDecoder``, the path before the continuous batch) and through the
   scheduler, interleaved request by request: median wall.
3. **Prompt lookup.** The BFCL and invoice sets through the provider with ``prompt_lookup`` off
   and on (interleaved): forward passes and wall per extraction, drafted/kept tokens, and
   whether every attempt's tokens are identical.

RSS is printed after loading the model and at the end (peak).

    PYTHONPATH=. .venv/bin/python benchmarks/local_throughput.py [--quick] [--requests N] [--bfcl N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl import sample
from bfcl_support import find_bfcl_dir, load_cases
from loops import INVOICES, Invoice

from instructor_py import StructuredOutput, StructuredOutputRetryError
from instructor_py.providers.local import LocalGeneration, LocalProvider
from instructor_py.runtime.generation import DecodeOptions, DecodeStats
from instructor_py.runtime.model import LocalModel
from instructor_py.runtime.session import session_for

REPO = Path(__file__).resolve().parent.parent
MAX_TOKENS = 256  # --max-tokens


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def items(n_bfcl: int) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
    invoices = [(text, model) for text, model in INVOICES]
    directory = find_bfcl_dir(REPO)
    bfcl: list[tuple[Any, Any]] = []
    if directory is not None and n_bfcl:
        bfcl = [(c.messages(), c.schema) for c in sample(load_cases(directory), n_bfcl)]
    return invoices, bfcl


def extract(
    so: StructuredOutput, messages: Any, model: Any, options: dict[str, Any]
) -> tuple[float, list[LocalGeneration]]:
    t0 = time.perf_counter()
    try:
        response = (
            so.with_(messages=messages, response_model=model, options=options).create().response()
        )
        attempts = response.attempts
    except StructuredOutputRetryError as exc:
        attempts = tuple(exc.attempts)
    raws = [a.raw_response for a in attempts]
    return time.perf_counter() - t0, [r for r in raws if isinstance(r, LocalGeneration)]


def invoice_batch(n: int) -> list[tuple[Any, Any]]:
    """``n`` distinct invoice texts for one schema: a batch over a file (the CLI's case), built
    from fixed lists so every run sends the same requests."""
    customers = ["Acme Corp", "Globex Ltd", "Initech", "Umbrella plc", "Stark Industries",
                 "Wayne Enterprises", "Hooli", "Vandelay Imports", "Soylent Co", "Tyrell Corp"]
    goods = [("boxes of paper", 12.5), ("staplers", 8.99), ("hours of consulting", 95.0),
             ("software licenses", 49.0), ("printer cartridges", 31.2), ("desk chairs", 149.0),
             ("coffee bags", 7.8), ("network cables", 4.25)]
    out: list[tuple[Any, Any]] = []
    for i in range(n):
        customer = customers[i % len(customers)]
        (a, pa), (b, pb) = goods[i % len(goods)], goods[(3 * i + 1) % len(goods)]
        qa, qb = 1 + i % 4, 2 + i % 3
        total = round(qa * pa + qb * pb, 2)
        text = (
            f"Invoice INV-{1000 + 37 * i} for {customer}: {qa} {a} at {pa:.2f} each and "
            f"{qb} {b} at {pb:.2f} each. Total {total:.2f}."
        )
        out.append((text, Invoice))
    return out


class Person(BaseModel):
    name: str
    age: int
    city: str


def people_batch(n: int) -> list[tuple[Any, Any]]:
    """``n`` distinct one-line texts about a person for one schema: short answers, the case where
    decoding (which batches) outweighs the prompt (which does not)."""
    first = ["Jason", "Maria", "Li", "Anna", "Tom", "Priya", "Kofi", "Elena", "Omar", "Sara",
             "Yuki", "Lucas"]
    last = ["Smith", "Garcia", "Wei", "Petrova", "Baker", "Sharma", "Mensah", "Rossi", "Haddad"]
    cities = ["San Francisco", "Buenos Aires", "Shanghai", "Saint Petersburg", "Leeds", "Pune",
              "Accra", "Turin", "Beirut", "Oslo", "Osaka"]
    forms = ["{n} is {a} years old and lives in {c}.", "{n}, aged {a}, moved to {c} last year.",
             "Meet {n} ({a}), who works in {c}.", "At {a}, {n} still lives in {c}."]
    out: list[tuple[Any, Any]] = []
    for i in range(n):
        name = f"{first[i % len(first)]} {last[(5 * i + 2) % len(last)]}"
        text = forms[i % len(forms)].format(n=name, a=19 + (7 * i) % 60, c=cities[(3 * i) % len(cities)])
        out.append((text, Person))
    return out


def so_model(so: StructuredOutput) -> LocalModel:
    provider = so.provider
    assert isinstance(provider, LocalProvider)
    return provider.load()


def run_concurrent(
    so: StructuredOutput, work: list[tuple[Any, Any]], c: int
) -> tuple[float, list[float], list[tuple[int, ...]]]:
    """One run from an empty batch context (no prompt cached from an earlier run)."""
    options = {"max_tokens": MAX_TOKENS}
    model = so_model(so)
    while not session_for(model).scheduler.clear_cache():
        time.sleep(0.01)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(c) as pool:
        results = list(pool.map(lambda w: extract(so, w[0], w[1], options), work))
    first = [r[1][0].token_ids if r[1] else () for r in results]
    return time.perf_counter() - t0, [r[0] for r in results], first


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def concurrency_table(
    so: StructuredOutput, name: str, work: list[tuple[Any, Any]], levels: list[int]
) -> None:
    print(
        f"\n1. concurrency, {name}: {len(work)} extractions per run, max_tokens {MAX_TOKENS}, "
        "default options, each run from an empty cache"
    )
    runs: dict[int, list[tuple[float, list[float], list[tuple[int, ...]]]]] = {}
    for c in [*levels, 1]:
        runs.setdefault(c, []).append(run_concurrent(so, work, c))
        print(f"   ran c={c}: {runs[c][-1][0]:.1f} s  (RSS {rss_mb():.0f} MB)", flush=True)
    seq_walls = [w for w, _, _ in runs[1]]
    seq_wall = statistics.mean(seq_walls)
    alone_p50 = statistics.median([x for _, lat, _ in runs[1] for x in lat])
    reference = runs[1][0][2]
    print(f"   sequential runs: {', '.join(f'{w:.1f} s' for w in seq_walls)} (averaged)")
    print(
        f"   {'concurrent':>10} {'wall':>8} {'extr/s':>8} {'speed-up':>9} {'p50':>8} {'p95':>8} "
        f"{'p50/alone':>10} {'same answer':>12}"
    )
    for c in levels:
        wall = statistics.mean(w for w, _, _ in runs[c])
        lat = [x for _, la, _ in runs[c] for x in la]
        same = sum(a == b for _, _, t in runs[c] for a, b in zip(t, reference, strict=True))
        total = len(runs[c]) * len(work)
        label = "1 (seq)" if c == 1 else str(c)
        print(
            f"   {label:>10} {wall:7.1f}s {len(work) / wall:8.2f} {seq_wall / wall:8.2f}x "
            f"{statistics.median(lat):7.2f}s {pct(lat, 0.95):7.2f}s "
            f"{statistics.median(lat) / alone_p50:9.2f}x {same:>6}/{total:<5}"
        )


def alone_table(model: LocalModel, provider: LocalProvider, work: list[tuple[Any, Any]]) -> None:
    """The old one-sequence path vs the scheduler, one request at a time, interleaved."""
    so = StructuredOutput().with_provider(provider)
    walls: dict[str, list[float]] = {"before": [], "after": [], "after+lookup": []}
    for i, (messages, schema) in enumerate(work):
        request = so.with_(messages=messages, response_model=schema).create().request
        order = ["before", "after", "after+lookup"]
        for key in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            _alone(model, request, key)
            walls[key].append(time.perf_counter() - t0)
    base = statistics.median(walls["before"])
    print(f"\n2. a request alone ({len(work)} requests, interleaved): median wall")
    for key, values in walls.items():
        print(
            f"   {key:<14} {statistics.median(values):6.3f} s  {statistics.median(values) / base:5.2f}x of before"
        )


def _alone(model: LocalModel, request: Any, key: str) -> None:
    from instructor_py.providers.local_constraint import base_constraint, compile_for_request

    session = session_for(model)
    text = session.render_text(request.messages)
    prompt = model.tokenize(text)
    base = base_constraint(request, True, whitespace="spaced", required_first=False)
    handle = compile_for_request(session, request, base, True)
    if key == "before":
        matcher = handle.matcher if handle is not None else None
        with model.lock:
            list(session.decoder.generate(prompt, matcher, DecodeOptions(max_tokens=MAX_TOKENS)))
        return
    lookup = text if key == "after+lookup" else None
    while not session.scheduler.clear_cache():  # no prompt cached by an earlier run
        time.sleep(0.01)
    options = DecodeOptions(max_tokens=MAX_TOKENS, prompt_text=lookup)
    list(session.scheduler.generate(prompt, handle, options))


def lookup_table(so: StructuredOutput, name: str, work: list[tuple[Any, Any]]) -> None:
    cols: dict[str, dict[str, Any]] = {
        k: {"passes": 0, "wall": 0.0, "drafted": 0, "kept": 0, "tokens": []} for k in ("off", "on")
    }
    for i, (messages, schema) in enumerate(work):
        order = [("off", {"prompt_lookup": False}), ("on", {"prompt_lookup": True})]
        for key, opts in order if i % 2 == 0 else order[::-1]:
            wall, raws = extract(so, messages, schema, {"max_tokens": MAX_TOKENS, **opts})
            col = cols[key]
            stats = DecodeStats()
            for r in raws:
                stats.add(r.stats)
            col["passes"] += stats.forward_passes
            col["wall"] += wall
            col["drafted"] += stats.drafted_tokens
            col["kept"] += stats.accepted_draft_tokens
            col["tokens"].append(tuple(r.token_ids for r in raws))
    same = sum(a == b for a, b in zip(cols["off"]["tokens"], cols["on"]["tokens"], strict=True))
    n = len(work)
    off, on = cols["off"], cols["on"]
    print(f"\n3. prompt lookup, {name}: {n} extractions, identical tokens in {same}/{n}")
    print(f"   {'lookup':<7} {'passes/extr':>12} {'wall/extr':>10} {'drafted':>8} {'kept':>6}")
    for key, col in cols.items():
        print(
            f"   {key:<7} {col['passes'] / n:12.1f} {col['wall'] / n:9.2f}s {col['drafted']:8d} {col['kept']:6d}"
        )
    print(
        f"   fewer forward passes: {off['passes'] / max(1, on['passes']):.2f}x; "
        f"wall: {off['wall'] / max(1e-9, on['wall']):.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="8 requests, c = 1, 4, 8; fewer BFCL cases"
    )
    parser.add_argument("--requests", type=int, default=None, help="requests per concurrency run")
    parser.add_argument(
        "--bfcl", type=int, default=None, help="BFCL cases for the prompt-lookup table"
    )
    parser.add_argument(
        "--n-parallel",
        type=int,
        default=16,
        help="rows of the continuous batch (the default provider, n_parallel=1, is the 'before' "
        "column of table 2)",
    )
    parser.add_argument(
        "--people-only", action="store_true", help="only the short-answer concurrency table"
    )
    parser.add_argument("--max-tokens", type=int, default=None, help="answer budget (quick: 96)")
    args = parser.parse_args(argv)
    global MAX_TOKENS
    MAX_TOKENS = args.max_tokens or (96 if args.quick else MAX_TOKENS)
    n_requests = args.requests or (8 if args.quick else 16)
    levels = [1, 4, 8] if args.quick else [1, 4, 8, 16]
    n_bfcl = args.bfcl if args.bfcl is not None else (8 if args.quick else 20)
    provider = LocalProvider.from_options(n_parallel=args.n_parallel)
    model = provider.load()
    so = StructuredOutput().with_provider(provider)
    print(
        f"model {model.name}, n_threads {model.n_threads}/{model.n_threads_batch}, RSS {rss_mb():.0f} MB"
    )
    invoices, bfcl = items(max(n_bfcl, n_requests))
    mixed = [w for pair in zip(invoices, bfcl[: len(invoices)], strict=False) for w in pair]
    mixed += invoices[len(mixed) // 2 :] + bfcl[len(invoices) :]
    work = (mixed * 4)[:n_requests]
    extract(so, *work[0], {"max_tokens": 8})  # warm-up: compile caches, the batch context
    print(f"RSS with the batch context: {rss_mb():.0f} MB")
    concurrency_table(so, "one schema, short answers (people)", people_batch(2 * n_requests), levels)
    if args.people_only:
        return 0
    concurrency_table(so, "one schema (invoices)", invoice_batch(n_requests), levels)
    concurrency_table(so, "mixed schemas (invoice-style + BFCL)", work, levels)
    alone_table(model, provider, work[: (4 if args.quick else 8)])
    lookup_table(so, "invoice-style", invoices)
    if bfcl:
        lookup_table(so, "BFCL dev", bfcl[:n_bfcl])
    s = session_for(model).scheduler
    print(
        f"\nscheduler: {s.steps} steps, up to {s.max_rows_seen} rows, {s.restarts} restarts, {s._ctx.clears if s._ctx else 0} pool clears; "
        f"RSS {rss_mb():.0f} MB, peak {peak_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
