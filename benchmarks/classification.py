"""Classification on the embedded model: the grammar alone vs calibrated whole-value scoring, with
the sentiment enum in two orders, side by side in one run.

Eight short reviews with an obvious sentiment and a star rating (tests/support/reviews.py), a
response model ``Review(product, sentiment: Sentiment, rating)``, and ``Sentiment`` with
``positive`` first or ``negative`` first. Methods:

- ``grammar alone``: ``StructuredOutput().using("local")`` with ``score_choices=False`` (the
  constrained decode picks the enum value token by token, as before issue 25);
- ``SDK, scored``: the same call with the default ``score_choices=True`` (the enum field chosen
  by its calibrated probability, forced into the answer);
- ``classify()``: ``instructor_py.local.classify(text, Sentiment)`` (order calibration).

Printed: right answers per order, whether both orders agree on every review, and seconds per
call (the ratio against the grammar alone is what scoring costs).

    PYTHONPATH=. python benchmarks/classification.py
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from instructor_py import StructuredOutput
from instructor_py.local import classify
from tests.support.reviews import REVIEWS, NegativeFirst, PositiveFirst

ORDERS: dict[str, type[StrEnum]] = {
    "positive first": PositiveFirst,
    "negative first": NegativeFirst,
}


def review_model(sentiment: type[StrEnum]) -> type[BaseModel]:
    class Review(BaseModel):
        product: str = Field(max_length=40)
        sentiment: sentiment  # type: ignore[valid-type]
        rating: int = Field(ge=1, le=5)

    return Review


def sdk(text: str, enum: type[StrEnum], scored: bool) -> str:
    value = (
        StructuredOutput()
        .using("local")
        .with_(
            messages=text,
            response_model=review_model(enum),
            options={"max_tokens": 60, "score_choices": scored},
        )
        .get()
    )
    return str(value.sentiment.value)


def helper(text: str, enum: type[StrEnum], scored: bool) -> str:
    return str(classify(text, enum).label.value)


METHODS = {
    "grammar alone": lambda t, e: sdk(t, e, False),
    "SDK, scored": lambda t, e: sdk(t, e, True),
    "classify()": lambda t, e: helper(t, e, True),
}


def main() -> int:
    sdk(REVIEWS[0][0], PositiveFirst, False)  # load the model outside the timings
    rows = []
    base_seconds = None
    for name, run in METHODS.items():
        answers: dict[str, list[str]] = {}
        started = time.perf_counter()
        for order, enum in ORDERS.items():
            answers[order] = [run(text, enum) for text, _, _ in REVIEWS]
        per_call = (time.perf_counter() - started) / (len(REVIEWS) * len(ORDERS))
        base_seconds = base_seconds or per_call
        right = {
            o: sum(a == gold for a, (_, gold, _) in zip(v, REVIEWS, strict=True))
            for o, v in answers.items()
        }
        same = sum(x == y for x, y in zip(*answers.values(), strict=True))
        rows.append((name, right, same, per_call, per_call / base_seconds, answers))
    print(
        "| method | right, positive first | right, negative first | same answer in both orders | s per call | vs grammar alone |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, right, same, per_call, ratio, _ in rows:
        print(
            f"| {name} | {right['positive first']}/8 | {right['negative first']}/8 | {same}/8 "
            f"| {per_call:.2f} | {ratio:.2f}x |"
        )
    for name, *_, answers in rows:
        print(f"{name}: {answers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
