"""Run in a subprocess by test_local_bad_input.py (a bad file must not take the test runner down
with it): try each bad local-model input, print one JSON line per case, then prove the process
still works by answering one request with the embedded model.

Usage: ``python -m tests.support.bad_models WORKDIR``
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.runtime.model import ModelOptions, embedded_model_path, load_model


class City(BaseModel):
    name: str


def _case(name: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # report whatever happened; the test judges it
        line = {"case": name, "error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}
    else:
        line = {"case": name, "error": None, "mro": [], "message": ""}
    print(json.dumps(line), flush=True)


def main(workdir: Path) -> None:
    good = embedded_model_path()
    not_gguf = workdir / "not-a-model.gguf"
    not_gguf.write_text("this is a text file, not a GGUF model\n" * 100)
    empty = workdir / "empty.gguf"
    empty.write_bytes(b"")
    truncated = workdir / "truncated.gguf"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    header_only = workdir / "header-only.gguf"
    header_only.write_bytes(data[:64])

    _case("missing_path", lambda: load_model(ModelOptions(model_path=str(workdir / "nope.gguf"))))
    _case("directory", lambda: load_model(ModelOptions(model_path=str(workdir))))
    _case("not_gguf", lambda: load_model(ModelOptions(model_path=str(not_gguf))))
    _case("empty_file", lambda: load_model(ModelOptions(model_path=str(empty))))
    _case("truncated_gguf", lambda: load_model(ModelOptions(model_path=str(truncated))))
    _case("header_only_gguf", lambda: load_model(ModelOptions(model_path=str(header_only))))
    _case(
        "not_gguf_through_using",
        lambda: StructuredOutput().using("local", model_path=str(not_gguf)).with_(messages="Paris", response_model=City).get(),
    )
    small = StructuredOutput().using("local", n_ctx=128)
    long_prompt = "Paris is the capital of France. " * 200
    _case("context_overflow", lambda: small.with_(messages=long_prompt, response_model=City).get())
    _case(
        "max_tokens_past_context",
        lambda: small.with_(messages="Paris is the capital of France.", response_model=City, options={"max_tokens": 1_000_000}).get(),
    )
    def fill_the_context() -> None:
        # the prompt grows until the answer no longer fits the 256-token context
        for n in range(120, 260, 2):
            small.with_(messages="Paris is the capital of France. " + "x " * n, response_model=City, options={"max_tokens": 1_000_000}, max_retries=0).get()

    _case("answer_fills_context", fill_the_context)
    ok = StructuredOutput().using("local").with_(messages="Paris is the capital of France.", response_model=City, options={"max_tokens": 1_000_000}).get()
    print(json.dumps({"case": "survived", "error": None, "mro": [], "message": ok.name}), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
