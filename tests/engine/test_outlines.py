"""outlines-core only gets schemas it enforces exactly (it silently ignores what it does not know)."""

from __future__ import annotations

from typing import Any

import pytest

from instructor_py.common.errors import ConstraintCompileError
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator, TokenizerInfo
from tests.support.masks import accepts_text

pytest.importorskip("outlines_core", reason="outlines-core is not installed")
pytest.importorskip("llguidance", reason="llguidance is not installed")

from instructor_py.engine.backends.outlines_backend import (
    OutlinesBackend,
    choice_regex,
    unsupported_schema_keywords,
)


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "integer", "minimum": 1}, "#/minimum"),
        ({"type": "array", "uniqueItems": True}, "#/uniqueItems"),
        ({"type": "string", "enum": ["a", 1]}, "#/enum with sibling keywords"),
        ({"type": ["integer", "null"], "minLength": 1}, "#/type list with sibling keywords"),
        ({"type": "object", "required": ["b"], "properties": {"a": {}}}, "missing from properties"),
        ({"type": "array", "items": [{}]}, "#/items as a list"),
        ({"properties": {"x": {"anyOf": [{"not": {}}]}}}, "#/properties/x/anyOf/0/not"),
        ({"type": "string", "format": "ipv4"}, "#/format=ipv4"),
    ],
)
def test_keywords_outlines_would_ignore_are_refused(schema: dict[str, Any], why: str) -> None:
    assert any(why in found for found in unsupported_schema_keywords(schema))


def test_plain_pydantic_style_schema_is_accepted() -> None:
    schema = {
        "title": "User",
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "Name", "minLength": 1},
            "role": {"$ref": "#/$defs/Role", "description": "the role"},
            "nick": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "tier": {"type": "string", "enum": ["gold", "silver"]},  # type implied by the values
            "level": {"type": "integer", "const": 3},
        },
        "required": ["name", "role"],
        "$defs": {"Role": {"enum": ["admin", "user"], "title": "Role"}},
    }
    assert unsupported_schema_keywords(schema) == []


def test_enum_with_type_goes_to_llguidance_and_stays_exact(tok: TokenizerInfo) -> None:
    orch = StructuredOutputOrchestrator(tok)
    orch.register_backend(orch.get_backend("outlines"), set_as_default=True)
    schema = {"type": "string", "enum": ["a", 1]}
    handle = orch.compile_json_schema(schema)
    assert handle.backend == "llguidance" and handle.exact
    assert not accepts_text(handle.matcher, tok, "1")  # 1 is not a string
    assert accepts_text(orch.compile_json_schema(schema).matcher, tok, '"a"')


def test_direct_backend_errors(tok: TokenizerInfo) -> None:
    backend = OutlinesBackend(tok, max_regex_chars=50)
    with pytest.raises(ConstraintCompileError, match="does not compile grammars"):
        backend.compile(ConstraintSpec.grammar('start: "a"'))
    with pytest.raises(ConstraintCompileError, match="outlines-core could not compile regex"):
        backend.compile(ConstraintSpec.regex("a("))
    with pytest.raises(ConstraintCompileError, match="limit 50"):
        backend.compile(
            ConstraintSpec.json_schema({"type": "object", "properties": {"a": {"type": "string"}}})
        )
    assert backend.get_stats().compile_errors == 3
    assert backend.supports(ConstraintSpec.regex("a+"))
    assert not backend.supports(ConstraintSpec.regex("a" * 51))


def test_choice_regex_escapes_metacharacters() -> None:
    assert choice_regex(["a.b", "c d", "(x)"]) == r"(a\.b|c\x{20}d|\(x\))"
