"""The cost of a forward pass under two llama.cpp builds of the same version, side by side.

Each build is a Python environment with llama-cpp-python installed; the same probe runs in each
(in its own subprocess, alternating rounds): the embedded SmolLM2 model, llama-cpp-python's default
threads, the median ms of one ``eval`` of n new tokens after a 40-token cache, for n in 1, 8, 16,
and of a 256-token prompt. What set-up builds (``scripts/llama_wheel.py``: every instruction set
this CPU reports, AMX off) is compared with a plain AVX2 build (what a portable wheel would use).

    PYTHONPATH=. .venv/bin/python benchmarks/build_flags.py --other /path/to/avx2-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, statistics, sys, time
import llama_cpp
path, rounds = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=path, n_ctx=1024, verbose=False)
text = "The quick brown fox jumps over the lazy dog, then runs across the field to the river. " * 20
tokens = llm.tokenize(text.encode())[:300]
out = {"info": llama_cpp.llama_print_system_info().decode(), "threads": [llm.n_threads, llm.n_threads_batch]}
for n in (1, 8, 16):
    times = []
    for _ in range(rounds):
        llm.reset(); llm.eval(tokens[:40])
        t0 = time.perf_counter(); llm.eval(tokens[40:40 + n]); times.append(time.perf_counter() - t0)
    out[f"pass_{n}"] = 1000 * statistics.median(times)
times = []
for _ in range(rounds):
    llm.reset(); t0 = time.perf_counter(); llm.eval(tokens[:256]); times.append(time.perf_counter() - t0)
out["prompt_256_per_token"] = 1000 * statistics.median(times) / 256
print(json.dumps(out))
"""


def probe(python: str, model: str, rounds: int) -> dict[str, object]:
    proc = subprocess.run(
        [python, "-c", PROBE, model, str(rounds)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--other", required=True, help="the python of the other build's venv")
    parser.add_argument("--name", default="plain AVX2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="alternating subprocess rounds")
    args = parser.parse_args()
    from instructor_py.runtime.model import embedded_model_path

    model = str(embedded_model_path())
    builds = {"set-up's build (this CPU, AMX off)": sys.executable, args.name: args.other}
    runs: dict[str, list[dict[str, object]]] = {k: [] for k in builds}
    for r in range(args.repeat):
        order = list(builds.items()) if r % 2 == 0 else list(builds.items())[::-1]
        for name, python in order:
            runs[name].append(probe(python, model, args.rounds))
    keys = ["pass_1", "pass_8", "pass_16", "prompt_256_per_token"]
    heads = ["1 token", "8 tokens", "16 tokens", "prompt ms/tok"]
    print(f"{'build':<38}" + "".join(f"{h:>14}" for h in heads))
    medians = {
        name: [statistics.median(float(run[k]) for run in rs) for k in keys]  # type: ignore[arg-type]
        for name, rs in runs.items()
    }
    for name, values in medians.items():
        print(f"{name:<38}" + "".join(f"{v:>11.2f} ms" for v in values))
    ours, other = medians.values()
    print(f"{'ratio (other / ours)':<38}" + "".join(f"{o / u:>13.2f}x" for u, o in zip(ours, other, strict=True)))
    for name, rs in runs.items():
        print(f"  {name}: threads {rs[0]['threads']}; {rs[0]['info']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
