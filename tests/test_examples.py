"""The examples that need an API key or a server say so and exit cleanly without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NEEDS_CONFIG = {
    "openai_extraction.py": ("OPENAI_API_KEY", "set OPENAI_API_KEY"),
    "anthropic_streaming.py": ("ANTHROPIC_API_KEY", "set ANTHROPIC_API_KEY"),
    "openai_compatible_server.py": ("INSTRUCTOR_PY_BASE_URL", "set INSTRUCTOR_PY_BASE_URL"),
    "azure_openai.py": ("AZURE_OPENAI_ENDPOINT", "set AZURE_OPENAI_ENDPOINT"),
    "bedrock_converse.py": ("AWS_REGION", "set AWS_REGION"),
    "gemini_native.py": ("GEMINI_API_KEY", "set GEMINI_API_KEY"),
    "media_openai.py": ("OPENAI_API_KEY", "needs OPENAI_API_KEY"),
}


@pytest.mark.parametrize("script", sorted(NEEDS_CONFIG))
def test_example_without_key_exits_cleanly(script: str) -> None:
    variable, hint = NEEDS_CONFIG[script]
    env = {k: v for k, v in os.environ.items() if k != variable}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert hint in done.stdout
    assert "Traceback" not in done.stderr


def test_every_example_is_covered() -> None:
    scripts = {p.name for p in (ROOT / "examples").glob("*.py")}
    local = {"demo.py", "templates.py", "structuring_engine.py", "batch.py", "cost_controls.py"}  # structuring_engine: tests/pse
    assert scripts - local <= set(NEEDS_CONFIG), scripts - local - set(NEEDS_CONFIG)


def _run_local_example(script: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INSTRUCTOR_PY_PRESET", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_demo_runs_a_real_local_extraction() -> None:
    """`make demo`'s script: in-process extraction on the embedded model through the public API,
    with validators that check the values against the text (so a wrong value fails the run)."""
    done = _run_local_example("demo.py")
    assert "person: Person(name='Emma Stone', age=34, city='Dublin')" in done.stdout
    assert "rating=1)" in done.stdout
    assert "sentiment=<Sentiment.NEGATIVE: 'negative'>" in done.stdout  # issue 25: not POSITIVE
    assert "sentiment probabilities: positive" in done.stdout and "forced by the grammar" in done.stdout


def test_templates_example_runs_on_the_embedded_model() -> None:
    """Templates, thinking and a composite constraint on the embedded model, as printed."""
    done = _run_local_example("templates.py")
    assert "Mood: happy" in done.stdout and "'mood': 'happy'" in done.stdout
    assert "segments: [('action', " in done.stdout


def test_batch_example_runs_on_the_embedded_model() -> None:
    """batch(): results in input order, the item with no city is its own error."""
    done = _run_local_example("batch.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "  0/4 done" and "  4/4 done" in lines
    results = [line for line in lines if line.startswith("'")]
    assert [r.split("'")[1] for r in results] == [
        "Paris is the capital of France.",
        "Berlin is the capital of Germany.",
        "Madrid is the capital of Spain.",
        "Nothing to see here.",
    ]
    assert "City(city='Paris'" in results[0] and "City(city='Berlin'" in results[1]
    assert "failed after 2 attempts" in results[3]


def test_cost_controls_example_answers_the_second_call_from_the_cache() -> None:
    """with_cache(file): the second call is a hit with the first call's value and usage; the
    budget stops a too-long prompt before sending."""
    import re

    done = _run_local_example("cost_controls.py")
    calls = re.findall(r"^(first|second) call: (.+) \(cache_hit=(\w+), [\d.]+ ms, (\d+) tokens\)$", done.stdout, re.M)
    assert [(c[0], c[2]) for c in calls] == [("first", "False"), ("second", "True")], done.stdout
    assert calls[0][1] == calls[1][1] and calls[0][3] == calls[1][3]  # same value, same usage
    assert re.search(r"^budget: stopped before sending .* 0 attempts made\)$", done.stdout, re.M), done.stdout
