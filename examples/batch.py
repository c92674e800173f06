"""Many extractions at once: ``batch()`` on the embedded local model, results in input order.

Each input is a message (or a dict of ``with_()`` arguments); each result is the call's response,
or the error of that one item (here the last input has no city to find, so its semantic validator
rejects every attempt), never an exception for the whole batch. The same inputs, one a line, run
from the shell with the command line::

    printf 'Paris is the capital of France.\\nBerlin is the capital of Germany.\\n' \\
        | python -m instructor_py extract --schema city.json > cities.jsonl
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput, StructuredOutputRetryError


class City(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)


def named_in_the_text(text: str) -> Callable[[City], str | None]:
    def check(value: City) -> str | None:
        return None if value.city in text else f"{value.city!r} is not in the text; copy the city"

    return check


TEXTS = [
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
    "Madrid is the capital of Spain.",
    "Nothing to see here.",
]


def main() -> None:
    builder = StructuredOutput().with_(
        response_model=City, max_retries=1, options={"max_tokens": 48}
    )
    inputs = [
        # a dict of with_() arguments per input: here each gets its own validator
        {"messages": text, "validators": named_in_the_text(text)}
        for text in TEXTS
    ]

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} done")

    results = builder.batch(inputs, concurrency=4, progress=progress)
    for text, result in zip(TEXTS, results, strict=True):
        if isinstance(result, StructuredOutputRetryError):
            print(f"{text!r}: failed after {len(result.attempts)} attempts: {result.last_errors[0]}")
        elif isinstance(result, Exception):
            print(f"{text!r}: {type(result).__name__}: {result}")
        else:
            print(f"{text!r}: {result.value!r}")


if __name__ == "__main__":
    main()
