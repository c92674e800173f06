"""Random JSON schemas (hypothesis, over the keywords we claim, some values wrong on purpose):
each one builds a response model or gives a typed error; a built one validates any JSON value
without raising anything but our errors; the local engine compiles it or gives a typed error
within its compile time limit. Never a crash, never a hang."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instructor_py import StructuredOutput
from instructor_py.common.errors import InstructorError
from tests.support.smollm2 import needs_model

pytestmark = pytest.mark.timeout(300)

PATTERNS = ["^[a-z]+$", "^(a+)+$", "[0-9]{3}-[0-9]{4}", "^(?=.*x).+$", "(", "\\d+", "^(a|aa)+(?<=c)$"]
FORMATS = ["date", "date-time", "time", "email", "uuid", "uri", "ipv4", "no-such-format"]
junk = st.one_of(st.integers(-3, 3), st.text(max_size=4), st.none(), st.booleans(), st.lists(st.integers(), max_size=2))


def _maybe(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {key: v}))


def _merge(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


strings = _merge(
    st.just({"type": "string"}),
    _maybe("minLength", st.integers(-1, 20)),
    _maybe("maxLength", st.integers(0, 40)),
    _maybe("pattern", st.sampled_from(PATTERNS)),
    _maybe("format", st.sampled_from(FORMATS)),
)
numbers = _merge(
    st.sampled_from([{"type": "integer"}, {"type": "number"}]),
    _maybe("minimum", st.integers(-100, 100)),
    _maybe("maximum", st.integers(-100, 100)),
    _maybe("exclusiveMinimum", st.integers(-5, 5)),
    _maybe("multipleOf", st.sampled_from([1, 2, 0.5, 0, -1])),
)
scalars = st.one_of(
    strings,
    numbers,
    st.sampled_from([{"type": "boolean"}, {"type": "null"}, {}, {"type": "strnig"}, {"type": ["string", "null"]}]),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=6).map(lambda v: {"enum": v}),
    st.one_of(st.integers(), st.text(max_size=5)).map(lambda v: {"const": v}),
    st.sampled_from(["A", "B", "missing"]).map(lambda name: {"$ref": f"#/$defs/{name}"}),
    st.builds(lambda k, v: {k: v}, st.sampled_from(["minLength", "type", "required", "items", "enum"]), junk),
)


def _object(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda props, required, extra: {
            "type": "object",
            "properties": props,
            "required": [k for k in props if k in required],
            **extra,
        },
        st.dictionaries(st.sampled_from(["a", "b", "c", "name", "x y", "é"]), children, max_size=4),
        st.sets(st.sampled_from(["a", "b", "c", "name"])),
        st.one_of(
            st.just({}),
            st.just({"additionalProperties": False}),
            children.map(lambda s: {"additionalProperties": s}),
            st.sampled_from(PATTERNS[:3]).flatmap(lambda p: children.map(lambda s: {"patternProperties": {p: s}})),
        ),
    )


schemas = st.recursive(
    scalars,
    lambda children: st.one_of(
        _object(children),
        st.builds(lambda items, lo: {"type": "array", "items": items, **lo}, children, _maybe("minItems", st.integers(0, 3))),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"allOf": xs}),
    ),
    max_leaves=12,
)
roots = st.builds(
    lambda body, defs: {"type": "object", "properties": {"v": body}, "required": ["v"], "$defs": defs},
    schemas,
    st.fixed_dictionaries({"A": scalars, "B": strings}),
)
instances = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c", "name", "v", "zz"]), c, max_size=4),
    max_leaves=10,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(schema=roots, values=st.lists(instances, min_size=1, max_size=4))
def test_random_schemas_build_or_fail_typed_and_validate_without_crashing(
    schema: dict[str, Any], values: list[Any]
) -> None:
    try:
        so = StructuredOutput().with_(messages="x", response_model=schema)
    except InstructorError as exc:
        assert str(exc)
        return
    model = so.response_model
    assert model is not None
    for value in values:
        try:
            errors = list(model.schema_validator.iter_errors({"v": value}))
        except InstructorError:  # e.g. PatternTimeoutError from a backtracking fallback pattern
            continue
        assert all(isinstance(e.message, str) for e in errors)


LOCAL_LIMIT_S = 2.0


@needs_model
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(schema=roots)
def test_random_schemas_compile_locally_or_fail_typed_within_the_limit(smol: Any, schema: dict[str, Any]) -> None:
    from instructor_py.local import StructuredOutputOrchestrator

    orchestrator = _orchestrators.get("o") or _orchestrators.setdefault(
        "o", StructuredOutputOrchestrator(smol, compile_timeout_s=LOCAL_LIMIT_S)
    )
    t0 = time.perf_counter()
    try:
        handle = orchestrator.compile_json_schema(json.loads(json.dumps(schema)))
    except InstructorError as exc:
        assert str(exc)
    else:
        handle.fresh().matcher.is_accepting()  # the matcher answers
    elapsed = time.perf_counter() - t0
    assert elapsed <= LOCAL_LIMIT_S * 2 * len(orchestrator.backend_names) + 3.0, elapsed


_orchestrators: dict[str, Any] = {}
