"""Output modes: how the response schema is communicated to the model."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from instructor_py.common.errors import InvalidArgumentError


class OutputMode(StrEnum):
    """How the model is asked for structured output.

    - ``TOOLS``: a forced tool call whose parameters are the schema (default where supported).
    - ``JSON_SCHEMA``: the API's native structured output (strict where supported).
    - ``JSON``: the API's JSON mode, with the schema in the system prompt.
    - ``MD_JSON``: the schema in the prompt, the answer in a fenced ```json block.
    - ``GRAMMAR``: local models only: the schema is enforced token by token.
    """

    TOOLS = "tools"
    JSON_SCHEMA = "json_schema"
    JSON = "json"
    MD_JSON = "md_json"
    GRAMMAR = "grammar"


def parse_mode(value: Any, where: str = "mode") -> OutputMode:
    """``value`` (an :class:`OutputMode` or its string) as an :class:`OutputMode`; a clear
    :class:`~instructor_py.common.errors.InvalidArgumentError` naming ``where`` otherwise."""
    try:
        return OutputMode(value)
    except ValueError:
        raise InvalidArgumentError(
            f"unknown output mode {value!r} for {where}; use one of {[m.value for m in OutputMode]}"
        ) from None
