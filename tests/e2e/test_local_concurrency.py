"""Concurrency with the default settings (issue 25, point 2): with ``StructuredOutput()`` alone
(the embedded model, one sequence), calls from many threads and ``batch()`` cost what the same
calls cost in a loop, and give the same (greedy) answers.

The timing checks measure the loop and the concurrent way in the same test, alternating (loop,
threads, threads, loop, loop, threads), and compare the best wall time of each, so the load of the shared machine
hits both. Before the session's decode thread, the calls decoded on their own threads (one OpenMP
pool each, the loop's from the main thread): on the 2-core machine the loop ran 1.2-1.5x slower
than 8 threads of the same calls (and on many-core machines 16 threads ran 1.37x slower than the
loop); ``batch()`` ran 8 workers. Each test takes 20-50 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.client.batch import default_concurrency
from instructor_py.providers.local import LocalGeneration, LocalProvider
from tests.support.smollm2 import needs_model

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 1.2  # best concurrent wall / best loop wall, in either direction


class Person(BaseModel):
    name: str
    age: int
    city: str


TEXTS = [
    "Jason Smith is 25 years old and lives in Leeds.",
    "Maria Garcia, aged 31, moved to Turin last year.",
    "Meet Li Wei (44), who works in Oslo.",
    "At 52, Anna Petrova still lives in Pune.",
    "Tom Baker is 19 years old and lives in Accra.",
    "Priya Sharma, aged 38, moved to Osaka last year.",
]


def _answer(response: Any) -> tuple[Any, tuple[int, ...]]:
    raw = response.attempts[0].raw_response
    assert isinstance(raw, LocalGeneration)
    return response.value, raw.token_ids


def _get(text: str) -> tuple[Any, tuple[int, ...]]:
    call = StructuredOutput().with_(
        messages=text, response_model=Person, options={"max_tokens": 48}
    )
    return _answer(call.create().response())


def _alternate(
    loop: Callable[[], list[Any]], other: Callable[[], list[Any]]
) -> tuple[float, float, list[Any], list[list[Any]]]:
    """Best wall of ``loop`` and of ``other``, run loop, other, other, loop, loop, other; the
    loop's answers and every run's answers of ``other``."""
    walls: dict[str, list[float]] = {"loop": [], "other": []}
    answers: dict[str, list[list[Any]]] = {"loop": [], "other": []}
    for key in ("loop", "other", "other", "loop", "loop", "other"):
        t0 = time.perf_counter()
        out = (loop if key == "loop" else other)()
        walls[key].append(time.perf_counter() - t0)
        answers[key].append(out)
    assert all(a == answers["loop"][0] for a in answers["loop"])  # greedy: the loop is stable
    return min(walls["loop"]), min(walls["other"]), answers["loop"][0], answers["other"]


@needs_model
def test_calls_from_threads_cost_what_a_loop_costs_with_the_same_answers() -> None:
    _get(TEXTS[0])  # the model loaded, the schema compiled

    def threads() -> list[Any]:
        with ThreadPoolExecutor(len(TEXTS)) as pool:
            return list(pool.map(_get, TEXTS))

    loop, concurrent, expected, runs = _alternate(lambda: [_get(t) for t in TEXTS], threads)
    for answers in runs:
        assert answers == expected
    ratio = concurrent / loop
    assert 1 / MARGIN <= ratio <= MARGIN, (
        f"{len(TEXTS)} threads took {concurrent:.2f} s, the loop {loop:.2f} s ({ratio:.2f}x)"
    )


@needs_model
def test_batch_picks_one_call_at_a_time_on_one_sequence_and_costs_what_a_loop_costs() -> None:
    assert default_concurrency(LocalProvider()) == 1
    assert default_concurrency(LocalProvider.from_options(n_parallel=8)) == 8
    _get(TEXTS[0])
    so = StructuredOutput().with_(response_model=Person, options={"max_tokens": 48})

    def batch() -> list[Any]:
        results = so.batch(TEXTS)
        return [_answer(r) for r in results]

    loop, batched, expected, runs = _alternate(lambda: [_get(t) for t in TEXTS], batch)
    for answers in runs:
        assert answers == expected
    ratio = batched / loop
    assert 1 / MARGIN <= ratio <= MARGIN, (
        f"batch() took {batched:.2f} s, the loop {loop:.2f} s ({ratio:.2f}x)"
    )


@needs_model
def test_a_plain_import_asks_llama_cpp_for_passive_openmp_waits() -> None:
    """A user who never imports ``instructor_py.local`` gets the wait policy too: it is set before
    llama.cpp loads (libgomp reads it then). Without it a loop of calls from the main thread spun
    against the machine's other work (measured 10-12x slower on the loaded 2-core machine)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])  # this checkout
    code = (
        "import ctypes, sys\n"
        "from pydantic import BaseModel\n"
        "from instructor_py import StructuredOutput\n"
        "class City(BaseModel):\n"
        "    name: str\n"
        "StructuredOutput().with_(messages='Paris', response_model=City,"
        " options={'max_tokens': 32}).get()\n"
        "assert 'instructor_py.local' not in sys.modules\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.getenv.restype = ctypes.c_char_p\n"
        "print((libc.getenv(b'OMP_WAIT_POLICY') or b'-').decode())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "PASSIVE"
