"""Reading `StructuringEngine` output back: segments by label, JSON parsing, type validation."""

from __future__ import annotations

import json
import logging
from typing import Any

from instructor_py.common.errors import StructuredOutputParseError
from instructor_py.pse.sources import TEXT_LABEL, EngineStructure
from instructor_py.pse.stepper import EngineStepper

__all__ = ["parse_value", "segments"]

logger = logging.getLogger("instructor_py.pse.engine")


def segments(
    structure: EngineStructure, stepper: EngineStepper, safe: bool
) -> list[tuple[str, str]]:
    """The row's output cut into ``(label, text)`` segments.

    With delimiters: the free text before the opening delimiter (label ``"text"``, left out when
    empty), then the structure between the delimiters (the structure's label; the closing
    delimiter is cut once the structure accepts). A non-JSON structure whose grammar has
    llguidance captures (Lark ``rule[capture="name"]``) gives one segment per capture. Otherwise
    one segment: the whole output.
    """
    text = stepper.safe_text if safe else stepper.text
    if structure.delimiters is not None:
        open_, close = structure.delimiters
        k = text.find(open_)
        if k < 0:
            return [(TEXT_LABEL, text)]
        out = [(TEXT_LABEL, text[:k])] if k else []
        body = text[k + len(open_) :]
        if close and stepper.is_accepting():
            j = body.rfind(close)
            if j >= 0:
                body = body[:j]
        out.append((structure.label, body))
        return out
    if structure.spec.kind != "json_schema" and stepper.is_accepting():
        raw = getattr(stepper.matcher.inner, "raw", None)
        captures = raw.get_captures() if raw is not None else []
        if captures:
            return [(str(n), bytes(v).decode("utf-8", errors="replace")) for n, v in captures]
    return [(structure.label, text)]


def parse_value(
    structure: EngineStructure,
    label: str,
    text: str,
    output_type: Any,
    raise_on_error: bool,
) -> Any:
    """A segment's value: JSON parsed for a JSON structure, then validated as ``output_type``.

    On failure: raises :class:`StructuredOutputParseError` with ``raise_on_error``, else logs a
    warning and returns what it has (the raw text, or the parsed JSON that failed validation).
    """
    value: Any = text
    if structure.is_json and label == structure.label:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return _fail(
                f"the output does not parse as JSON ({exc.msg} at column {exc.colno}); it may be "
                "incomplete: check has_reached_accept_state or allow more tokens",
                text,
                raise_on_error,
            )
    if output_type is None:
        return value
    from pydantic import BaseModel, TypeAdapter, ValidationError

    try:
        if isinstance(output_type, type) and issubclass(output_type, BaseModel):
            return output_type.model_validate(value)
        return TypeAdapter(output_type).validate_python(value)
    except ValidationError as exc:
        name = getattr(output_type, "__name__", repr(output_type))
        return _fail(
            f"the output does not validate as {name}: {exc.error_count()} error(s), first: "
            f"{exc.errors()[0]['msg']} at {'.'.join(map(str, exc.errors()[0]['loc'])) or '(root)'}",
            value,
            raise_on_error,
        )


def _fail(message: str, fallback: Any, raise_on_error: bool) -> Any:
    if raise_on_error:
        raise StructuredOutputParseError(message)
    logger.warning("StructuringEngine: %s", message)
    return fallback
