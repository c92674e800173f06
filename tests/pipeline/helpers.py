"""Shared helpers of the tolerant-parser tests."""

from __future__ import annotations

from typing import Any

from instructor_py.pipeline.tolerant import ParseFailure, ParseResult, parse_tolerant


def read(text: str, schema: Any) -> ParseResult:
    """The parser's reading of ``text``; fails the test when it refuses."""
    result = parse_tolerant(text, schema)
    assert isinstance(result, ParseResult), f"refused: {result}"
    return result


def refused(text: str, schema: Any) -> ParseFailure:
    """The parser's refusal of ``text``; fails the test when it reads a value."""
    result = parse_tolerant(text, schema)
    assert isinstance(result, ParseFailure), f"read {result.value!r} ({result.repairs})"
    return result


def kinds(result: ParseResult) -> set[str]:
    return {r.kind for r in result.repairs}


def obj(**props: Any) -> dict[str, Any]:
    """An object schema with these properties, all required."""
    return {"type": "object", "properties": props, "required": list(props)}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
