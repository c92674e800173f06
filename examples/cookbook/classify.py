"""Recipe: classify text with an enum on the embedded local model, with probabilities.

An ``Enum`` (or ``Literal``, or ``bool``) field is a closed set of labels: the grammar lets the
model write only one of them. On a local model the SDK also reads the choice as a distribution:
each label is scored as a whole value where it starts and calibrated against the same prompt
without the input, so the answer follows the text, not the order of the enum; the
probabilities are on ``response.field_probabilities``. ``classify()`` does the same for a bare
text and a set of labels.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.local import classify


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


def shown(probabilities: dict[object, float]) -> str:
    return ", ".join(f"{getattr(k, 'value', k)}={p:.2f}" for k, p in probabilities.items())


def main() -> None:
    builder = StructuredOutput().using("local").with_(
        response_model=Verdict,
        system="Classify the sentiment of the review: positive, negative or neutral.",
        options={"max_tokens": 20},
    )
    for review in REVIEWS:
        response = builder.with_(messages=review).response()
        print(f"{response.value.sentiment.value:>8}: {review}")
        print(f"          {shown(response.field_probabilities['$.sentiment'])}")
    result = classify("Awful battery, I returned it the next day. 1 star.", Sentiment)
    print(f"classify(): {result.label.value} ({shown(result.probabilities)})")


if __name__ == "__main__":
    main()
