"""The local engine's compile time limit holds for hostile schemas: each one compiles, or ends in a
typed error, within the limit (per backend tried); none crashes or hangs the process."""

from __future__ import annotations

import time
from typing import Any

import pytest

from instructor_py.common.errors import ConstraintCompileError, InvalidSchemaError
from instructor_py.constraints.spec import ConstraintSpec
from tests.support.smollm2 import needs_model

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
    "enum_of_long_strings": {"enum": ["x" * 200 + str(i) for i in range(10_000)]},
    "any_of_500_objects_with_patterns": {
        "anyOf": [
            {"type": "object", "required": [f"k{i}_0"],
             "properties": {f"k{i}_{j}": {"type": "string", "pattern": f"^[a-z]{{{j},{j + 20}}}$"} for j in range(10)}}
            for i in range(500)
        ]
    },
    "3000_required_patterned_properties": {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "pattern": "^[a-z0-9]{1,30}@[a-z]{1,20}\\.[a-z]{2,5}$"} for i in range(3000)},
        "required": [f"p{i}" for i in range(3000)],
    },
}


@pytest.fixture(scope="module")
def orchestrator(smol: Any) -> Any:
    from instructor_py.local import StructuredOutputOrchestrator

    return StructuredOutputOrchestrator(smol, compile_timeout_s=LIMIT_S)


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


class _SlowFailingBackend:
    """Fails every compilation after ``delay`` s (under the per-backend limit), so that each
    relaxation tier would cost another ``delay`` without a shared budget."""

    def __init__(self, tok: Any, delay: float) -> None:
        self._tok, self._delay, self.calls = tok, delay, 0

    @property
    def name(self) -> str:
        return "slow-failing"

    def supports(self, spec: Any) -> bool:
        return True

    def unsupported_reason(self, spec: Any) -> str | None:
        return None

    def compile(self, spec: Any) -> Any:
        self.calls += 1
        time.sleep(self._delay)
        raise ConstraintCompileError("slow-failing: no")

    def allocate_bitmask(self, n: int) -> Any:
        from instructor_py.engine.bitmask import allocate_bitmask

        return allocate_bitmask(n, self._tok.logits_width)

    def fill_bitmask_batch(self, items: Any, bitmask: Any) -> None:
        raise AssertionError("never compiled anything")

    def get_stats(self) -> Any:
        from instructor_py.engine.backends.base import BackendStats

        return BackendStats(self.name)


def test_relaxation_tiers_share_the_time_limit(smol: Any) -> None:
    from instructor_py.common.errors import ConstraintTimeoutError
    from instructor_py.local import StructuredOutputOrchestrator

    backend = _SlowFailingBackend(smol, delay=0.3)
    orchestrator = StructuredOutputOrchestrator(smol, backends=[backend], compile_timeout_s=0.5)
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(?=x).+$"}}}
    t0 = time.perf_counter()
    with pytest.raises(ConstraintTimeoutError, match=r"within 0\.5 s"):
        orchestrator.compile_json_schema(schema)
    elapsed = time.perf_counter() - t0
    assert backend.calls == 2  # the exact tier and one relaxed tier; the budget stops the rest
    assert elapsed < 0.5 + 0.3 + SLACK_S
