"""Local throughput: concurrent calls on the embedded model, with the defaults and with the opt-in
continuous batch, side by side in one run (results saved to ``benchmarks/results/local_throughput.json``;
``python benchmarks/charts.py local_throughput`` draws the chart).

1. **Defaults** (``StructuredOutput()``, one sequence, ``n_parallel=1``): a ``for`` loop of
   ``get()`` from the main thread, the same calls from 8 and from 16 threads at once, and
   ``batch()`` with its default concurrency; rounds interleaved (the machine is shared: best and
   median wall per way). "same": answers (first attempt's tokens) equal to the loop's.
2. **Continuous batch** (``using("local", n_parallel=8)``): the same calls 1, 2, 4 and 8 at a
   time (threads); throughput, speed-up over the defaults' loop, and answers equal to the batch's
   own one-at-a-time run and to the defaults' loop.
3. **Where the time goes**: the defaults' loop split into prompt evaluation, forward passes of the
   answer and the rest (masks, sampling, Python), and the cost of one forward pass over c tokens
   of c sequences in the batch context (a decode step of c rows) against one token: the bound on
   what batching the answer's steps can give (prompt evaluation is compute-bound and does not
   batch).

    PYTHONPATH=. .venv/bin/python benchmarks/local_throughput.py [--requests N] [--rounds R] [--bfcl N] [--lookup]

``--lookup`` adds the older tables: a request alone on the one-sequence decoder vs in the batch,
and prompt-lookup drafting off vs on.
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
from results import Chart, Table, save

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



# --- 1-3: defaults vs continuous batch, and where the time goes --------------------------------


def _call(so: StructuredOutput, w: tuple[Any, Any]) -> tuple[tuple[int, ...], DecodeStats]:
    _, raws = extract(so, w[0], w[1], {"max_tokens": MAX_TOKENS})
    stats = DecodeStats()
    for r in raws:
        stats.add(r.stats)
    return (raws[0].token_ids if raws else ()), stats


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _batch_answers(
    so: StructuredOutput, work: list[tuple[Any, Any]]
) -> list[tuple[tuple[int, ...], DecodeStats]]:
    inputs = [{"messages": m, "response_model": r, "options": {"max_tokens": MAX_TOKENS}} for m, r in work]
    out: list[tuple[tuple[int, ...], DecodeStats]] = []
    for result in so.batch(inputs):
        attempts = result.attempts if not isinstance(result, Exception) else getattr(result, "attempts", ())
        raws = [a.raw_response for a in attempts if isinstance(a.raw_response, LocalGeneration)]
        out.append((raws[0].token_ids if raws else (), DecodeStats()))
    return out


def _threads(so: StructuredOutput, work: list[tuple[Any, Any]], n: int) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda w: _call(so, w), work))


def defaults_table(
    work: list[tuple[Any, Any]], rounds: int, name: str
) -> tuple[Table, dict[str, float], list[tuple[int, ...]], DecodeStats]:
    so = StructuredOutput()  # the defaults: embedded model, one sequence
    _call(so, work[0])  # warm-up
    ways: dict[str, Any] = {
        "for loop of get() (main thread)": lambda: [_call(so, w) for w in work],
        "8 threads x get()": lambda: _threads(so, work, 8),
        f"{len(work)} threads x get()": lambda: _threads(so, work, len(work)),
        "batch() (default concurrency)": lambda: _batch_answers(so, work),
    }
    walls: dict[str, list[float]] = {k: [] for k in ways}
    answers: dict[str, list[list[tuple[int, ...]]]] = {k: [] for k in ways}
    loop_stats = DecodeStats()
    order = list(ways)
    for r in range(rounds):
        for key in order if r % 2 == 0 else order[::-1]:
            wall, out = _timed(ways[key])
            walls[key].append(wall)
            answers[key].append([o[0] for o in out])
            if key == order[0]:
                for o in out:
                    loop_stats.add(o[1])
            print(f"   {name}: {key}: {wall:.1f} s", flush=True)
    loop_key = order[0]
    reference = answers[loop_key][0]
    base = min(walls[loop_key])
    rows = []
    best: dict[str, float] = {}
    for key in order:
        b = min(walls[key])
        best[key] = len(work) / b
        same = sum(a == ref for run in answers[key] for a, ref in zip(run, reference, strict=True))
        rows.append([
            key, f"{b:.2f}", f"{statistics.median(walls[key]):.2f}", f"{len(work) / b:.2f}",
            f"{base / b:.2f}x", f"{same}/{len(work) * len(answers[key])}",
        ])  # fmt: skip
    table = Table(
        f"defaults (n_parallel=1), {name}: {len(work)} calls, {rounds} interleaved rounds",
        ["how", "wall s (best)", "wall s (median)", "calls/s", "vs loop", "same answer"],
        rows,
    )
    return table, best, reference, loop_stats


def batch_table(
    work: list[tuple[Any, Any]],
    rounds: int,
    name: str,
    levels: list[int],
    loop_rate: float,
    loop_answers: list[tuple[int, ...]],
    n_parallel: int,
) -> tuple[Table, dict[int, float]]:
    provider = LocalProvider.from_options(n_parallel=n_parallel)
    so = StructuredOutput().with_provider(provider)
    model = so_model(so)
    _call(so, work[0])  # warm-up: the batch context

    def run(c: int) -> list[tuple[tuple[int, ...], DecodeStats]]:
        while not session_for(model).scheduler.clear_cache():
            time.sleep(0.01)
        with ThreadPoolExecutor(c) as pool:
            return list(pool.map(lambda w: _call(so, w), work))

    defaults = StructuredOutput()
    walls: dict[int, list[float]] = {c: [] for c in levels}
    answers: dict[int, list[list[tuple[int, ...]]]] = {c: [] for c in levels}
    loop_walls: list[float] = []
    for r in range(rounds):
        # the defaults' loop again, interleaved with the batch's runs: the baseline of this table
        wall, _ = _timed(lambda: [_call(defaults, w) for w in work])
        loop_walls.append(wall)
        print(f"   {name}: defaults' loop (baseline): {wall:.1f} s", flush=True)
        for c in levels if r % 2 == 0 else levels[::-1]:
            wall, out = _timed(lambda c=c: run(c))
            walls[c].append(wall)
            answers[c].append([o[0] for o in out])
            print(f"   {name}: continuous batch, {c} at a time: {wall:.1f} s", flush=True)
    loop_rate = len(work) / min(loop_walls)
    reference = answers[levels[0]][0]
    rows = []
    rates: dict[int, float] = {}
    for c in levels:
        b = min(walls[c])
        rates[c] = len(work) / b
        same_1 = sum(a == ref for run in answers[c] for a, ref in zip(run, reference, strict=True))
        same_loop = sum(a == ref for run in answers[c] for a, ref in zip(run, loop_answers, strict=True))
        total = len(work) * len(answers[c])
        rows.append([
            c, f"{b:.2f}", f"{statistics.median(walls[c]):.2f}", f"{rates[c]:.2f}",
            f"{rates[c] / loop_rate:.2f}x", f"{same_1}/{total}", f"{same_loop}/{total}",
        ])  # fmt: skip
    table = Table(
        f"continuous batch (n_parallel={n_parallel}), {name}: {len(work)} calls, c at a time from "
        f"threads; the defaults' loop run again in each round (best {min(loop_walls):.2f} s)",
        ["concurrent", "wall s (best)", "wall s (median)", "calls/s", "vs defaults' loop",
         "same answer as c=1", "same answer as defaults' loop"],
        rows,
    )  # fmt: skip
    return table, rates


def forward_table(n_parallel: int, levels: list[int], loop_stats: DecodeStats, repeats: int = 15) -> Table:
    """One forward pass over c tokens of c sequences (a decode step of c rows) in a batch
    context, and the bound it puts on batching: the answer's steps speed up at most c*f(1)/f(c),
    the prompt's evaluation not at all."""
    from instructor_py.runtime.model import ModelOptions, load_model
    from instructor_py.runtime.seq_context import DecodeEntry, SequenceContext

    model = load_model(ModelOptions(n_parallel=n_parallel))
    ctx = SequenceContext(model, n_parallel, 4096)
    prompt = model.tokenize("Describe the weather in a few words, then list three cities. " * 3)
    times: dict[int, float] = {}
    for c in levels:
        samples = []
        for _ in range(repeats):
            ctx.clear()
            seqs = [ctx.acquire(prompt, (-1, 0))[0] for _ in range(c)]
            ctx.decode([DecodeEntry(s, prompt, 1) for s in seqs])
            t0 = time.perf_counter()
            ctx.decode([DecodeEntry(s, [prompt[5]], 1) for s in seqs])
            samples.append(time.perf_counter() - t0)
        times[c] = statistics.median(samples)
    total = loop_stats.prompt_seconds + loop_stats.decode_seconds
    prompt_share = loop_stats.prompt_seconds / total if total else 0.0
    forward_share = loop_stats.forward_seconds / total if total else 0.0
    rest_share = max(0.0, 1 - prompt_share - forward_share)
    rows = []
    for c in levels:
        step = times[c] * 1000
        decode_bound = c * times[1] / times[c]
        # only the answer's forward passes batch; the prompt and the rest (masks, sampling) do not
        overall = 1 / (prompt_share + rest_share + forward_share / decode_bound)
        rows.append([c, f"{step:.1f}", f"{step / c:.1f}", f"{decode_bound:.2f}x", f"{overall:.2f}x"])
    notes = [
        f"the defaults' loop: prompt evaluation {100 * prompt_share:.0f}% of the decode time "
        f"({loop_stats.evaluated_tokens} tokens evaluated, {1000 * loop_stats.prompt_seconds / max(1, loop_stats.evaluated_tokens):.1f} ms a token), "
        f"the answer's forward passes {100 * forward_share:.0f}% ({loop_stats.forward_passes} passes, "
        f"{1000 * loop_stats.forward_seconds / max(1, loop_stats.forward_passes):.1f} ms each), masks, sampling and "
        f"Python {100 * rest_share:.0f}% ({loop_stats.masks_computed} masks computed)",
    ]
    return Table(
        "where the time goes: a decode step of c rows in the batch context",
        ["rows (c)", "step ms", "ms per row", "answer steps: bound c*f(1)/f(c)", "whole call: bound"],
        rows,
        notes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=16, help="calls per run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per way")
    parser.add_argument("--bfcl", type=int, default=16, help="BFCL dev cases (0: people only)")
    parser.add_argument("--n-parallel", type=int, default=8, help="rows of the continuous batch")
    parser.add_argument("--max-tokens", type=int, default=None, help="answer budget (default 256)")
    parser.add_argument("--lookup", action="store_true", help="also the older lookup tables")
    args = parser.parse_args(argv)
    global MAX_TOKENS
    MAX_TOKENS = args.max_tokens or MAX_TOKENS
    levels = [c for c in (1, 2, 4, 8) if c <= args.n_parallel]
    workloads = [("people (one schema, short answers)", people_batch(args.requests))]
    _, bfcl = items(args.bfcl)
    if bfcl:
        workloads.append((f"BFCL dev ({len(bfcl)} schemas)", bfcl[: args.requests]))
    print(f"RSS {rss_mb():.0f} MB; load {loadavg()}")
    tables: list[Table] = []
    charts: list[Chart] = []
    loop_stats = DecodeStats()
    for name, work in workloads:
        table, best, loop_answers, stats = defaults_table(work, args.rounds, name)
        loop_stats.add(stats)
        print_table(table)
        tables.append(table)
        loop_rate = best["for loop of get() (main thread)"]
        btable, rates = batch_table(work, args.rounds, name, levels, loop_rate, loop_answers, args.n_parallel)
        print_table(btable)
        tables.append(btable)
        xs = sorted({*levels, 16})
        charts.append(Chart(
            f"local-throughput-{'people' if name.startswith('people') else 'bfcl'}",
            f"Local calls per second against concurrency: {name}",
            "line",
            xs,
            {
                "defaults (one sequence)": [
                    best["for loop of get() (main thread)"] if x == 1 else best.get(f"{x} threads x get()") for x in xs
                ],
                f"continuous batch (n_parallel={args.n_parallel})": [rates.get(x) for x in xs],
            },
            xlabel="calls at a time", ylabel="calls per second (best of the rounds)",
            note="defaults: 1 = a for loop from the main thread; 8 and 16 threads x get()",
        ))  # fmt: skip
    ftable = forward_table(args.n_parallel, levels, loop_stats)
    print_table(ftable)
    tables.append(ftable)
    save("local_throughput", tables, charts, load=loadavg())
    if args.lookup:
        provider = LocalProvider.from_options(n_parallel=args.n_parallel)
        model = provider.load()
        so = StructuredOutput().with_provider(provider)
        invoices, bfcl_cases = items(args.bfcl)
        alone_table(model, provider, (invoices + bfcl_cases)[:8])
        lookup_table(so, "invoice-style", invoices)
        if bfcl_cases:
            lookup_table(so, "BFCL dev", bfcl_cases)
    print(f"RSS {rss_mb():.0f} MB, peak {peak_mb():.0f} MB")
    return 0


def loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def print_table(table: Table) -> None:
    print(f"\n{table.title}")
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    for note in table.notes:
        print(note)


if __name__ == "__main__":
    raise SystemExit(main())
