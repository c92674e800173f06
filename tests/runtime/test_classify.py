"""``instructor_py.local.classify`` on the embedded model: the label follows the text, not the
order the labels are given in (eight reviews, the enum in two orders), with its distribution."""

from __future__ import annotations

from typing import Literal

import pytest

from instructor_py.local import Classification, classify
from tests.support.reviews import REVIEWS, NegativeFirst, PositiveFirst
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(1800)]


def test_eight_reviews_in_both_orders() -> None:
    answers: dict[str, list[str]] = {}
    for order, enum in (("positive-first", PositiveFirst), ("negative-first", NegativeFirst)):
        results = [classify(text, enum) for text, _, _ in REVIEWS]
        for result in results:
            assert isinstance(result, Classification) and result.calibrated
            assert set(result.probabilities) == set(enum)
            assert abs(sum(result.probabilities.values()) - 1.0) < 1e-6
            assert result.label is max(result.probabilities, key=result.probabilities.__getitem__)
        answers[order] = [r.label.value for r in results]
    assert answers["positive-first"] == answers["negative-first"]
    right = sum(
        a == gold for a, (_, gold, _) in zip(answers["positive-first"], REVIEWS, strict=True)
    )
    assert right >= 7, answers


def test_literal_and_bool_labels() -> None:
    text, gold, _ = REVIEWS[0]
    labels = Literal["positive", "negative"]
    result = classify(text, labels)
    assert result.label == gold and set(result.probabilities) == {"positive", "negative"}
    happy = classify("Was the customer happy? " + REVIEWS[1][0], bool)
    assert set(happy.probabilities) == {True, False}
    raw = classify(text, ["negative", "positive"], calibrate=False)
    assert not raw.calibrated and raw.calibration == "none"
