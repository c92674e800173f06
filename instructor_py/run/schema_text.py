"""How the prompted modes (JSON, MD_JSON, GRAMMAR) show the schema: the system-prompt text for a
``schema_prompt`` style (``"compact"``: :func:`~instructor_py.schema.prompt.describe_schema`'s type
description; ``"raw"``: the JSON schema). Used by the request builder and the focused retry
(which removes it again)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from instructor_py.common.modes import OutputMode
from instructor_py.response_models.base import ResponseModel
from instructor_py.schema.prompt import describe_schema

__all__ = ["SCHEMA_PROMPTS", "instructions_for", "schema_instructions"]

SCHEMA_PROMPTS = ("compact", "raw")
_CLOSING = {
    OutputMode.JSON: "Return only the JSON, with no other text.",
    OutputMode.MD_JSON: "Return the JSON inside a fenced ```json code block.",
}


def schema_instructions(
    response_model: ResponseModel, mode: OutputMode, schema_prompt: str = "compact"
) -> str:
    """The system-prompt text that shows the schema in a prompted mode (``schema_prompt``:
    ``"compact"`` type description or ``"raw"`` JSON schema)."""
    return instructions_for(response_model.json_schema, mode, schema_prompt)


def instructions_for(schema_dict: Mapping[str, Any], mode: OutputMode, schema_prompt: str) -> str:
    """:func:`schema_instructions` for a JSON schema."""
    if schema_prompt == "compact":
        text = describe_schema(schema_dict)
        closing = _CLOSING.get(mode)
        return f"{text}\n{closing}" if closing else text
    schema = json.dumps(schema_dict, ensure_ascii=False, separators=(",", ":"))
    if mode is OutputMode.GRAMMAR:
        return f"Answer with JSON that satisfies this JSON schema:\n{schema}"
    if mode is OutputMode.MD_JSON:
        return (
            "Answer with a JSON object that satisfies this JSON schema:\n"
            f"{schema}\n"
            "Return the JSON object inside a fenced ```json code block."
        )
    return (
        "Answer with a JSON object that satisfies this JSON schema:\n"
        f"{schema}\n"
        "Return only the JSON object, with no other text."
    )
