"""Streaming partials through the public API on the embedded model (needs the streaming layer)."""

from __future__ import annotations

import itertools

import pytest
from pydantic import BaseModel, Field

from instructor_py import Sequence, StructuredOutput
from instructor_py.providers.local import LocalProvider
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(120)]


class City(BaseModel):
    name: str = Field(max_length=30)
    country: str = Field(max_length=30)


@pytest.fixture
def so(provider: LocalProvider) -> StructuredOutput:
    return StructuredOutput().with_provider(provider)


def test_partials_grow_token_by_token_and_end_validated(so: StructuredOutput) -> None:
    stream = so.with_(messages="Paris is the capital of France.", response_model=City).stream()
    snapshots = list(stream.partials())
    assert len(snapshots) >= 3
    names = [s.name for s in snapshots if getattr(s, "name", None)]
    assert names and all(b.startswith(a) for a, b in itertools.pairwise(names))
    final = stream.final_value()
    assert isinstance(final, City) and final.name == "Paris"


def test_sequence_yields_each_item_when_complete(so: StructuredOutput) -> None:
    stream = so.with_(
        messages="List the cities: Paris (France), Rome (Italy), Madrid (Spain).",
        response_model=Sequence.of(City),
        options={"max_tokens": 120},
    ).stream()
    items = list(stream.sequence())
    assert items and all(isinstance(c, City) for c in items)
    assert items[0].name == "Paris"
