"""`make demo`: structured extraction in-process on the embedded SmolLM2-135M-Instruct model.

No server and no API key: ``StructuredOutput()`` with no preset runs the local provider, which
renders the model's chat template, compiles the response model's JSON schema into a token-level
grammar and enforces it inside llama.cpp's decode loop. The JSON is valid by construction; the
validators below are semantic (the values must come from the text), and a failure is fed back to the
model for a retry. Small models do best with bounded fields and one worked example.

The review's sentiment is an enum field: the local provider reads it as the model's probability
of each whole value where the value starts in the answer, calibrated against the same prompt
without the review, so the answer follows the text rather than the order of the enum
(docs/classification.md); the demo prints the distribution and what the call did.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, Field

from instructor_py import StructuredOutput


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int = Field(ge=0, le=120)
    city: str = Field(max_length=40)


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


class Review(BaseModel):
    product: str = Field(max_length=40)
    sentiment: Sentiment
    rating: int = Field(ge=1, le=5)


def age_appears_in(text: str) -> Callable[[Person], str | None]:
    def check(person: Person) -> str | None:
        if str(person.age) not in text:
            return f"the age {person.age} does not appear in the text; read the age from the text"
        return None

    return check


def review_matches(text: str) -> Callable[[Review], str | None]:
    def check(review: Review) -> str | None:
        if review.product.lower() not in text.lower():
            return f"the product {review.product!r} is not in the text; name the product reviewed"
        if f"{review.rating} star" not in text:
            return f"the text gives no {review.rating}-star rating; read the stars from the text"
        return None

    return check


def main() -> int:
    # using("local") makes the demo independent of INSTRUCTOR_PY_PRESET; StructuredOutput()
    # alone resolves to the same local provider when no preset is set.
    base = StructuredOutput().using("local")

    text = "Hi, I'm Emma Stone, a 34 year old nurse from Dublin."
    started = time.perf_counter()
    response = (
        base.with_(
            messages=text,
            response_model=Person,
            examples=[
                (
                    "Anna is 41 years old and lives in Oslo.",
                    Person(name="Anna", age=41, city="Oslo"),
                )
            ],
            max_retries=2,
            options={"max_tokens": 80},
        )
        .with_validator(age_appears_in(text))
        .response()
    )
    elapsed = time.perf_counter() - started
    print(f"text:   {text}")
    print(f"person: {response.value!r}")
    stats = response.raw_response.stats
    print(
        f"        {len(response.attempts)} attempt(s), {response.usage.output_tokens} output tokens "
        f"({stats.sampled_tokens} sampled, {stats.forced_tokens} forced by the grammar), "
        f"{stats.forward_passes} forward passes, {elapsed:.2f}s including model load"
    )

    review_text = "Zephyr headphones: broke after two days, terrible. Rating: 1 star."
    started = time.perf_counter()
    answer = (
        base.with_(
            messages=review_text,
            response_model=Review,
            max_retries=2,
            options={"max_tokens": 60},
        )
        .with_validator(review_matches(review_text))
        .response()
    )
    elapsed = time.perf_counter() - started
    review = answer.value
    print(f"text:   {review_text}")
    print(f"review: {review!r}")
    # the enum field was chosen by the model's calibrated probability of each whole value (not
    # by the order of the enum) and then forced into the answer by the grammar
    generation = answer.raw_response
    stats = generation.stats
    shares = ", ".join(
        f"{value} {p:.0%}" for value, p in answer.field_probabilities["$.sentiment"].items()
    )
    print(f"        sentiment probabilities: {shares}")
    print(
        f"        {len(answer.attempts)} attempt(s), {generation.decodes} decode(s), "
        f"{answer.usage.output_tokens} output tokens ({stats.sampled_tokens} sampled, "
        f"{stats.forced_tokens} forced by the grammar), options scored in "
        f"{generation.scoring_passes} forward passes ({generation.scoring_seconds:.2f}s), "
        f"{elapsed:.2f}s in all"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
