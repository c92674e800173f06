"""Strings that slip while copying the input, replaced by the input's words the model finds
likeliest: which values slipped and the runs of words offered in their place (no model), and
through the public API on the embedded model: a slipped name replaced, and the opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.providers.local import LocalGeneration
from instructor_py.providers.local_copies import slip_candidates
from tests.support.local_calls import ask_local
from tests.support.smollm2 import needs_model

VIOLIN = "Find the violin from 'Stradivarius' maker, made in the year 1721."
CLUB = "Get me the last game played by Liverpool F.C. Include its statistics."


def test_a_value_that_slipped_inside_a_word() -> None:
    assert slip_candidates("Stradiviano", VIOLIN) == ["Stradivarius"]
    # the slipped word and up to three more; an abbreviation keeps its full stop
    assert slip_candidates("Liverly", CLUB) == [
        "Liverpool",
        "Liverpool F.C.",
        "Liverpool F.C. Include",
        "Liverpool F.C. Include its",
    ]
    assert slip_candidates("liverly", CLUB)[0] == "Liverpool"  # case aside


def test_values_that_did_not_slip() -> None:
    assert slip_candidates("Stradivarius", VIOLIN) == []  # copied whole
    assert slip_candidates("EUR", "Convert 150 Euros to Canadian dollars.") == []  # ends at its end
    assert slip_candidates("2021-01-01", "filed after January 1, 2021 in Ohio.") == []
    assert slip_candidates("Minnesota", "turtles in the Mississippi river") == []  # 2 letters
    assert slip_candidates("Str", VIOLIN) == []
    # a copied phrase that goes on: it did not slip inside a word
    assert slip_candidates("Liverpool fans", CLUB) == []


TEAM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "team_name": {"type": "string", "description": "The name of the soccer club."},
    },
    "required": ["team_name"],
}


def ask(text: str, **options: Any) -> tuple[Any, LocalGeneration]:
    return ask_local(text, TEAM, "Function: find\nFind it.", **options)


@needs_model
@pytest.mark.timeout(300)
def test_a_slipped_name_is_the_inputs() -> None:
    text = "Get me the details of the last game played by Liverpool F.C."
    plain, plain_raw = ask(text, ground_values=False)
    assert plain["team_name"].startswith("Liverly") and plain_raw.replaced_from_input == ()
    value, raw = ask(text)
    assert value["team_name"] in ("Liverpool", "Liverpool F.C.")
    assert raw.replaced_from_input == ("team_name",)
