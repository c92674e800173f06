"""Recipe: a rerun that costs nothing, with a response cache.

``with_cache(path)`` keeps every validated answer in a SQLite file (shared by threads and
processes): the same call again, with the same messages, model, schema and options, is answered
from the file without a request, with ``cache_hit=True`` and the original usage. Change the
response model or the prompt and the key changes. (On the command line: ``--cache FILE``.)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput


class City(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "answers.sqlite"
        builder = (
            StructuredOutput()
            .using("local")
            .with_cache(cache)
            .with_(response_model=City, options={"max_tokens": 40})
        )
        for run in ("first", "second"):
            started = time.perf_counter()
            response = builder.with_(messages="Lyon is a city in France.").response()
            elapsed = time.perf_counter() - started
            print(
                f"{run} run: {response.value!r}, cache_hit={response.cache_hit}, "
                f"{response.usage.output_tokens} output tokens, {elapsed * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
