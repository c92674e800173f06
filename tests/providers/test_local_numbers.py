"""Integers the input does not give, replaced by the input's number the model finds likeliest:
the numbers an input gives and which keys are read (no model), and through the public API on the
embedded model: a number the model cut short replaced, and the opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.providers.local import LocalGeneration
from instructor_py.providers.local_numbers import has_groundable_keys, input_integers
from tests.support.local_calls import ask_local
from tests.support.smollm2 import needs_model


def test_the_whole_numbers_an_input_gives() -> None:
    assert input_integers("two charges of 5C and 7C placed 3 meters apart") == [5, 7, 3]
    # thousands separators read both ways (a list without spaces looks the same)
    assert input_integers("12,000 miles at 25 MPG") == [12000, 12, 0, 25]
    assert input_integers("cash_flows=[200,300,400,500]") == [200300400500, 200, 300, 400, 500]
    # decimals are not whole numbers; a number inside a word is not one; repeats once
    assert input_integers("rate 0.05, version v2, 10 and 10, the 19th century") == [10, 19]
    assert input_integers("-3 degrees") == [-3]


def test_which_schemas_have_keys_to_read() -> None:
    assert has_groundable_keys({"type": "object", "properties": {"n": {"type": "integer"}}})
    ref = {
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/N"}},
        "$defs": {"N": {"type": "integer"}},
    }
    assert has_groundable_keys(ref)
    assert has_groundable_keys({"type": "object", "properties": {"s": {"type": "string"}}})
    assert not has_groundable_keys({"type": "object", "properties": {"x": {"type": "number"}}})
    assert not has_groundable_keys({"type": "array", "items": {"type": "integer"}})


INTEREST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "principal": {"type": "integer", "description": "The principal amount."},
        "rate": {"type": "number", "description": "The annual interest rate as a decimal."},
        "time": {
            "type": "integer",
            "description": "The time the money is invested for, in years.",
        },
        "n": {"type": "integer", "description": "Times interest is compounded per period. Default 1."},
    },
    "required": ["principal", "rate", "time"],
}


def ask(text: str, **options: Any) -> tuple[Any, LocalGeneration]:
    return ask_local(text, INTEREST, "Function: calc\nDo it.", **options)


@needs_model
@pytest.mark.timeout(300)
def test_a_number_the_model_cut_short_is_the_inputs() -> None:
    text = (
        "What is the compound interest on $10000 at 5% per year, compounded 4 times per "
        "period, over 10 years?"
    )
    plain, plain_raw = ask(text, ground_values=False)
    assert plain["time"] == 1 and plain_raw.replaced_from_input == ()  # "10 years" cut short
    value, raw = ask(text)
    assert value["time"] == 10 and value["principal"] == 10000
    assert "time" in raw.replaced_from_input
    assert set(raw.replaced_from_input) <= {"time", "n"}
