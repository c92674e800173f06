"""The llguidance grammar (JSON text) for a :class:`ConstraintSpec`."""

from __future__ import annotations

import json
from typing import Any

import llguidance as llg

from instructor_py.common.errors import ConstraintCompileError
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.composite import composite_grammar
from instructor_py.engine.format_regex import DATE, DATE_TIME, replace_formats

__all__ = ["LLGUIDANCE_FORMAT_OVERRIDES", "llguidance_grammar"]

#: Formats whose llguidance regex accepts strings ``jsonschema`` rejects (February 29 in every
#: year, year 0000): compiled from :mod:`instructor_py.engine.format_regex` instead.
LLGUIDANCE_FORMAT_OVERRIDES = {"date": DATE, "date-time": DATE_TIME}


def llguidance_grammar(spec: ConstraintSpec) -> str:
    """The llguidance grammar (JSON text) for ``spec``; raises ConstraintCompileError."""
    if spec.is_composite:
        return composite_grammar(spec)
    if spec.kind == "json_schema":
        whitespace = spec.options.whitespace
        spaced = whitespace == "spaced"
        options: dict[str, Any] = {
            "whitespace_flexible": whitespace == "flexible",
            "item_separator": ", " if spaced else ",",
            "key_separator": ": " if spaced else ":",
            "coerce_one_of": False,
            "lenient": spec.options.lenient,
        }
        text = spec.text
        if '"date' in text:  # cheap test before walking the schema
            schema = replace_formats(spec.schema, LLGUIDANCE_FORMAT_OVERRIDES)
            if schema is not spec.schema:
                text = json.dumps(schema, ensure_ascii=False)
        try:
            return str(llg.LLMatcher.grammar_from_json_schema(text, overrides=options))  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConstraintCompileError(f"llguidance: JSON schema rejected: {exc}") from exc
    if spec.kind == "regex":
        return str(llg.LLMatcher.grammar_from_regex(spec.text))
    if spec.kind == "choice":
        lark = "start: " + " | ".join(json.dumps(c, ensure_ascii=False) for c in spec.choices)
        return str(llg.LLMatcher.grammar_from_lark(lark))
    if spec.syntax == "gbnf":
        try:
            return str(llg.grammar_from("gbnf", spec.text))
        except ValueError as exc:
            raise ConstraintCompileError(
                f"llguidance: GBNF grammar does not convert: {exc}"
            ) from exc
    return str(llg.LLMatcher.grammar_from_lark(spec.text))
