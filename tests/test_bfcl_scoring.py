"""The BFCL AST-checker scoring used by ``benchmarks/bfcl.py`` (shared/bfcl/README.md's rules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bfcl_support import find_bfcl_dir, load_cases, score, to_json_schema

TRUTH = {"base": [10], "height": [5.0], "unit": ["units", ""], "name": ["San Francisco, CA"]}


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ({"base": 10, "height": 5.0, "name": "san francisco ca"}, True),  # case, punctuation
        ({"base": 10, "height": 5, "name": "San Francisco, CA", "unit": "units"}, True),  # int for float
        ({"base": 10.0, "height": 5, "name": "San Francisco, CA"}, False),  # float for int
        ({"base": 10, "height": 5, "name": "San Francisco, CA", "color": "red"}, False),  # extra
        ({"height": 5, "name": "San Francisco, CA"}, False),  # a required argument left out
        ({"base": 10, "height": 5, "name": "San Francisco, CA", "unit": "cm"}, False),
        ({"base": True, "height": 5, "name": "San Francisco, CA"}, False),  # bool is not int
        (None, False),
        ("not an object", False),
    ],
)
def test_ast_checker_rules(answer: object, correct: bool) -> None:
    assert score(answer, TRUTH) is correct


def test_lists_and_nested_objects_compare_element_by_element() -> None:
    truth = {"xs": [[1, 2, 3]], "info": [{"name": ["John Doe"], "email": ["", "a@b.c"]}]}
    assert score({"xs": [1, 2, 3], "info": {"name": "john doe"}}, truth)
    assert not score({"xs": [1, 2], "info": {"name": "john doe"}}, truth)
    assert not score({"xs": [1, 2, 3], "info": {"name": "jane"}}, truth)


def test_bfcl_types_become_json_schema() -> None:
    schema = to_json_schema(
        {"type": "dict", "properties": {"a": {"type": "float"}, "b": {"type": "tuple"}, "c": {"type": "any"}}}
    )
    assert schema == {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "array", "items": {}}, "c": {}},
    }


def test_the_dev_split_loads_with_a_ground_truth_per_case() -> None:
    directory = find_bfcl_dir(Path(__file__).resolve().parents[1])
    if directory is None:
        pytest.skip("shared/bfcl (data shipped beside the repository) is not present")
    cases = load_cases(directory)
    assert len(cases) == 303
    assert all(case.ground_truth and case.schema.get("type") == "object" for case in cases)
