"""Classification through ``StructuredOutput`` on the embedded model (local GRAMMAR mode): an
enum field's value is chosen by the model's calibrated probability of each whole value and forced
into the answer, so it follows the review, not the order of the enum; the distribution is on the
response."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from instructor_py import StructuredOutput
from tests.support.reviews import REVIEWS, NegativeFirst, PositiveFirst
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(3600)]


def review_model(sentiment: type[StrEnum]) -> type[BaseModel]:
    class Review(BaseModel):
        product: str = Field(max_length=40)
        sentiment: sentiment  # type: ignore[valid-type]
        rating: int = Field(ge=1, le=5)

    return Review


def test_the_enum_order_does_not_decide_the_sentiment() -> None:
    answers: dict[str, list[tuple[str, int]]] = {}
    for order, enum in (("positive-first", PositiveFirst), ("negative-first", NegativeFirst)):
        model = review_model(enum)
        got = []
        for text, _, _ in REVIEWS:
            response = (
                StructuredOutput()
                .using("local")
                .with_(messages=text, response_model=model, options={"max_tokens": 60})
                .response()
            )
            probabilities = response.field_probabilities["$.sentiment"]
            assert set(probabilities) == {e.value for e in enum}
            assert abs(sum(probabilities.values()) - 1.0) < 1e-6
            best = max(probabilities, key=probabilities.__getitem__)
            assert response.value.sentiment.value == best  # the scored value is the answer
            assert response.raw_response.decodes >= 1 and response.raw_response.scoring_passes > 0
            got.append((best, response.value.rating))
        answers[order] = got
    sentiments = {k: [s for s, _ in v] for k, v in answers.items()}
    assert sentiments["positive-first"] == sentiments["negative-first"], answers
    right = sum(
        s == gold for s, (_, gold, _) in zip(sentiments["positive-first"], REVIEWS, strict=True)
    )
    assert right >= 7, answers


class Verdict(BaseModel):
    label: Literal["good", "bad"]
    recommended: bool


def test_literal_and_bool_fields_and_the_opt_out() -> None:
    text = REVIEWS[0][0]
    response = (
        StructuredOutput()
        .using("local")
        .with_(messages=text, response_model=Verdict, options={"max_tokens": 40})
        .response()
    )
    assert set(response.field_probabilities) == {"$.label", "$.recommended"}
    assert set(response.field_probabilities["$.recommended"]) == {True, False}
    assert response.value.label == "bad" and response.value.recommended is False
    plain = (
        StructuredOutput()
        .using("local")
        .with_(
            messages=text,
            response_model=Verdict,
            options={"max_tokens": 40, "score_choices": False},
        )
        .response()
    )
    assert plain.field_probabilities == {} and plain.raw_response.scoring_passes == 0


def test_content_free_priors_are_paid_once_per_prompt() -> None:
    """The calibration's content-free distributions are kept per model: the same request again
    pays only for its own prompt's scores, and reads the same distribution."""

    class Judged(BaseModel):  # a schema no other test uses: its priors are not cached yet
        """The review judged twice."""

        label: Literal["good", "bad"]
        recommended: bool

    call = (
        StructuredOutput()
        .using("local")
        .with_(messages=REVIEWS[3][0], response_model=Judged, options={"max_tokens": 40})
    )
    first = call.response()
    second = call.response()
    assert second.value == first.value
    assert set(second.field_probabilities) == {"$.label", "$.recommended"}
    for path, probabilities in first.field_probabilities.items():
        assert second.field_probabilities[path] == pytest.approx(probabilities, abs=1e-3)
    passes = first.raw_response.scoring_passes, second.raw_response.scoring_passes
    # first: the real prompt and three content-free ones per field; then only the real one
    assert 0 < passes[1] <= passes[0] // 3, passes
