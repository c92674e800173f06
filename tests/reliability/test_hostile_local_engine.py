"""The local engine's compile time limit holds for hostile schemas: each one compiles, or ends in a
typed error, within the limit (per backend tried); none crashes or hangs the process."""

from __future__ import annotations

import time
from typing import Any

import pytest

from instructor_py.errors import ConstraintCompileError, InvalidSchemaError
from instructor_py.local.constraints import ConstraintSpec
from tests.reliability.conftest import needs_model

pytestmark = [needs_model, pytest.mark.timeout(120)]

LIMIT_S = 2.0
SLACK_S = 3.0  # thread start-up and the orchestrator's own work on a loaded 2-core machine


def _nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    for i in range(levels):
        schema = {"type": "object", "properties": {f"k{i}": schema}, "required": [f"k{i}"]}
    return schema


HOSTILE: dict[str, Any] = {
    "dfa_blowup": {"type": "string", "pattern": "^(a|b)*a(a|b){24}$"},
    "nested_bounded_repeats": {"type": "string", "pattern": "^((a{1,40}b{1,40}){1,40}c){1,20}$"},
    "huge_enum": {"enum": [f"value-{i:05d}-" + "x" * 40 for i in range(10_000)]},
    "deep_objects": _nested(60),
    "wide_any_of": {
        "anyOf": [
            {"type": "object", "properties": {f"p{i}_{j}": {"type": "string"} for j in range(15)},
             "required": [f"p{i}_0"]}
            for i in range(400)
        ]
    },
    "recursive": {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
    "lookaround_pattern": {"type": "string", "pattern": "^(?=.*[0-9])(?!.*x).{8,}$"},
    "long_min_max_length": {"type": "string", "minLength": 50_000, "maxLength": 60_000},
}


@pytest.fixture(scope="module")
def orchestrator(smol_tokenizer: Any) -> Any:
    from instructor_py.local import StructuredOutputOrchestrator

    return StructuredOutputOrchestrator(smol_tokenizer, compile_timeout_s=LIMIT_S)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_schema_compiles_or_fails_typed_within_the_limit(orchestrator: Any, name: str) -> None:
    schema = HOSTILE[name]
    t0 = time.perf_counter()
    try:
        handle = orchestrator.compile_json_schema(schema)
    except (ConstraintCompileError, InvalidSchemaError) as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
        assert str(exc)  # the error says something
    else:
        outcome = "compiled"
        matcher = handle.fresh().matcher
        assert not matcher.is_terminated()  # a usable matcher at the start of the output
    elapsed = time.perf_counter() - t0
    budget = LIMIT_S * len(orchestrator.backend_names) + SLACK_S
    assert elapsed <= budget, f"{name}: {outcome} after {elapsed:.1f} s (limit {budget:.1f} s)"


def test_a_schema_past_the_limits_never_reaches_a_backend(orchestrator: Any) -> None:
    with pytest.raises(InvalidSchemaError, match="deeper than"):
        orchestrator.compile_json_schema(_nested(200))
    with pytest.raises(InvalidSchemaError, match="enum of"):
        ConstraintSpec.json_schema({"enum": list(range(20_000))})
