"""Bad local-model input: each case a clear, typed error, and the process survives (the cases run
in a subprocess, so a crash inside llama.cpp would show as a failed run, not a dead test runner)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]

#: case -> (error class expected in the error's MRO, words the message must contain)
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "missing_path": ("LocalModelError", ("not found", "nope.gguf", "model_path")),
    "directory": ("LocalModelError", ("is a directory", ".gguf")),
    "not_gguf": ("LocalModelError", ("not a GGUF model", "b'GGUF'")),
    "empty_file": ("LocalModelError", ("empty file", "not a GGUF model")),
    "truncated_gguf": ("LocalModelError", ("truncated", "truncated.gguf")),
    "header_only_gguf": ("LocalModelError", ("truncated", "64 bytes")),
    "not_gguf_through_using": ("LocalModelError", ("not a GGUF model",)),
    "context_overflow": ("ContextOverflowError", ("context holds", "n_ctx")),
    "answer_fills_context": ("ContextOverflowError", ("filled the model's context", "max_tokens=1000000", "n_ctx")),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("bad-models")
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.bad_models", str(workdir)],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=False,
    )
    assert run.returncode == 0, f"the process died (rc={run.returncode}): {run.stderr[-2000:]}"
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return {line["case"]: line for line in lines}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_local_input_is_a_clear_typed_error(outcomes: dict[str, dict[str, Any]], case: str) -> None:
    assert case in outcomes, f"the subprocess never reported {case}"
    got = outcomes[case]
    error, words = EXPECTED[case]
    assert error in got["mro"] and "InstructorError" in got["mro"], got
    for word in words:
        assert word in got["message"], f"{case}: {word!r} not in {got['message']!r}"


def test_max_tokens_past_the_context_is_capped_by_the_context(outcomes: dict[str, dict[str, Any]]) -> None:
    """max_tokens larger than the context is not an error by itself (it is capped, as
    llama-cpp-python does); only an answer that really fills the context is (case above)."""
    assert outcomes["max_tokens_past_context"]["error"] is None, outcomes["max_tokens_past_context"]


def test_the_process_survives_every_bad_input(outcomes: dict[str, dict[str, Any]]) -> None:
    assert outcomes["survived"]["error"] is None
    assert outcomes["survived"]["message"].startswith("Paris")
