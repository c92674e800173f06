"""Recipe: classify text with an enum on the embedded local model.

An ``Enum`` (or a ``Literal``) field is a closed set of labels: the grammar lets the model write
only one of them, so the answer is always a valid label. A short system prompt that says what the
labels mean helps a small model.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from instructor_py import StructuredOutput


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


class Verdict(BaseModel):
    sentiment: Sentiment


REVIEWS = [
    "I love it, best purchase this year. 5 stars.",
    "Broke after two days, terrible. 1 star.",
]


def main() -> None:
    classify = StructuredOutput().using("local").with_(
        response_model=Verdict,
        system="Classify the sentiment of the review: positive, negative or neutral.",
        options={"max_tokens": 20},
    )
    for review in REVIEWS:
        verdict = classify.with_(messages=review).get()
        print(f"{verdict.sentiment.value:>8}: {review}")


if __name__ == "__main__":
    main()
