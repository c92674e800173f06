"""Cost controls on the embedded local model (no API key, no server): a response cache in a SQLite
file (the second call is answered from it) and a token budget that stops a call before it sends
(see docs/cost.md).

    PYTHONPATH=. python examples/cost_controls.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from instructor_py import StructuredOutput, TokenBudgetExceededError


class City(BaseModel):
    name: str
    country: str


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        builder = (
            StructuredOutput()  # the embedded local model
            .with_(messages="Paris is the capital of France.", response_model=City)
            .with_options(max_tokens=48)
            .with_cache(Path(folder) / "answers.sqlite")
        )
        for run in ("first", "second"):
            started = time.perf_counter()
            response = builder.response()
            elapsed = (time.perf_counter() - started) * 1000
            city = response.value
            print(
                f"{run} call: {city.name}, {city.country} (cache_hit={response.cache_hit}, "
                f"{elapsed:.1f} ms, {response.usage.total_tokens} tokens)"
            )
    long_text = "The report goes on. " * 200  # ~4,000 characters: ~1,000 tokens of prompt
    try:
        StructuredOutput().with_(messages=long_text, response_model=City).with_budget(tokens=300).get()
    except TokenBudgetExceededError as error:
        print(
            f"budget: stopped before sending (about {error.estimate} prompt tokens > "
            f"budget {error.budget}; {len(error.attempts)} attempts made)"
        )


if __name__ == "__main__":
    main()
