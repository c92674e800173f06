"""``instructor-py schema check``: the schema preflight report for a provider and mode, without
sending anything (see :mod:`instructor_py.schema.preflight`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.common.modes import OutputMode, parse_mode
from instructor_py.schema.preflight import PreflightReport, preflight

__all__ = ["PROVIDER_TARGETS", "check_schema_for"]

PROVIDER_TARGETS: Mapping[str, str] = {
    "openai": "openai",
    "azure": "openai",
    "anthropic": "anthropic",
    # what the native driver sends by default (with_options(schema_style="openapi"):
    # gemini/responseSchema)
    "gemini": "gemini/responseJsonSchema",
    "vertex": "gemini/responseJsonSchema",
    "gemini/responseSchema": "gemini/responseSchema",
    "gemini/responseJsonSchema": "gemini/responseJsonSchema",
    "bedrock": "bedrock",
    "llama-cpp-server": "llama-cpp-server",
    "llamacpp-server": "llama-cpp-server",
}
_PROMPTED = frozenset({OutputMode.JSON, OutputMode.MD_JSON})


def check_schema_for(
    schema: Mapping[str, Any], provider: str, mode: str | None = None
) -> PreflightReport | None:
    """The preflight report of ``schema`` for ``provider`` in ``mode`` (``None``: the schema
    travels in the prompt in that mode, so there is nothing for the API to refuse)."""
    target = PROVIDER_TARGETS.get(provider)
    if target is None:
        raise InvalidArgumentError(
            f"--provider {provider!r}: use one of {', '.join(sorted(PROVIDER_TARGETS))}"
        )
    if mode is not None:
        parsed = parse_mode(mode, "--mode")
        if parsed in _PROMPTED:
            return None
        if parsed is OutputMode.GRAMMAR:
            raise InvalidArgumentError("--mode grammar is for local models; use tools or "
                                       "json_schema")
    return preflight(schema, target)
