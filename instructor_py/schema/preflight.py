"""Schema preflight: what a provider and mode accept, checked before any request.

:func:`preflight` takes the caller's JSON schema and a target (``"openai"`` strict structured
outputs, ``"anthropic"`` tools, ``"gemini"`` ``responseSchema`` / ``responseJsonSchema``,
``"bedrock"`` tools, ``"llama-cpp-server"`` json-schema-to-grammar) and returns a
:class:`PreflightReport`: the schema to put on the wire and, for each incompatibility, whether it
was **rewritten** (the wire schema differs; the answer is still validated against the caller's own
schema, so a rewrite only ever loosens or restates what the caller asked) or **refused** (no
rewrite keeps the meaning: :meth:`PreflightReport.raise_if_refused` raises
:class:`~instructor_py.common.errors.SchemaPreflightError` naming the keyword, its JSON path, the
provider and the fix). The rules per target are pure functions in
:mod:`instructor_py.schema.preflight_rules`; drivers call :func:`preflight` from their
``_preflight`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.common.errors import InvalidArgumentError
from instructor_py.schema import preflight_rules as r
from instructor_py.schema.preflight_report import PreflightIssue, PreflightReport, Rule

__all__ = [
    "TARGETS",
    "PreflightIssue",
    "PreflightReport",
    "preflight",
]



def _rules() -> dict[str, tuple[str, Rule]]:
    return {
        "openai": ("strict", r.openai_strict),
        "openai/strict": ("strict", r.openai_strict),
        "anthropic": ("tools", r.anthropic_tools),
        "gemini": ("responseSchema", r.gemini_response_schema),
        "gemini/responseSchema": ("responseSchema", r.gemini_response_schema),
        "gemini/responseJsonSchema": ("responseJsonSchema", r.gemini_response_json_schema),
        "bedrock": ("tools", r.bedrock_tools),
        "llama-cpp-server": ("json_schema", r.llama_cpp_server),
    }


TARGETS: tuple[str, ...] = ("openai", "anthropic", "gemini", "bedrock", "llama-cpp-server")
"""The targets :func:`preflight` knows (``"gemini/responseJsonSchema"`` selects Gemini's full JSON
Schema field; ``"gemini"`` alone is ``responseSchema``, the OpenAPI 3.0 subset)."""

_ALIASES = {"llamacpp-server": "llama-cpp-server", "llama.cpp": "llama-cpp-server",
            "llamacpp": "llama-cpp-server", "vertex": "gemini", "azure": "openai"}


def preflight(schema: Mapping[str, Any], target: str) -> PreflightReport:
    """Check ``schema`` against ``target`` and return the report (never raises for the schema's
    content; call :meth:`PreflightReport.raise_if_refused` to refuse). No network, no files."""
    if not isinstance(schema, Mapping):
        raise InvalidArgumentError(f"preflight needs a JSON schema object, got {type(schema).__name__}")
    name = _ALIASES.get(target, target)
    rules = _rules()
    if name not in rules:
        raise InvalidArgumentError(
            f"unknown preflight target {target!r}; use one of {sorted(rules)}"
        )
    variant, rule = rules[name]
    return rule(schema, variant)
