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

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from instructor_py.common.errors import InvalidArgumentError, SchemaPreflightError

__all__ = [
    "TARGETS",
    "PreflightIssue",
    "PreflightReport",
    "preflight",
]

Action = Literal["rewritten", "refused"]
Outcome = Literal["as_is", "rewritten", "refused"]


@dataclass(frozen=True, slots=True)
class PreflightIssue:
    """One incompatibility: the ``keyword`` at JSON ``path`` (``$.properties.tags``), what was
    done (``action``), why or how (``detail``), and what the caller can do (``fix``)."""

    keyword: str
    path: str
    action: Action
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.action}: {self.keyword} at {self.path}: {self.detail}"
        return text + (f" (fix: {self.fix})" if self.fix else "")


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """The outcome of :func:`preflight` for one schema and target. ``schema`` is what goes on the
    wire (the caller's own schema when nothing was rewritten, or when refused)."""

    target: str
    variant: str
    schema: Mapping[str, Any]
    issues: tuple[PreflightIssue, ...] = field(default=())

    @property
    def refused(self) -> tuple[PreflightIssue, ...]:
        return tuple(i for i in self.issues if i.action == "refused")

    @property
    def rewritten(self) -> tuple[PreflightIssue, ...]:
        return tuple(i for i in self.issues if i.action == "rewritten")

    @property
    def outcome(self) -> Outcome:
        if self.refused:
            return "refused"
        return "rewritten" if self.rewritten else "as_is"

    def raise_if_refused(self) -> PreflightReport:
        """``self``, or a :class:`SchemaPreflightError` listing every refusal."""
        refused = self.refused
        if refused:
            first = refused[0]
            more = f" (and {len(refused) - 1} more: " + "; ".join(
                f"{i.keyword} at {i.path}" for i in refused[1:4]
            ) + ")" if len(refused) > 1 else ""
            raise SchemaPreflightError(
                f"{self.target} ({self.variant}) cannot take the response schema: "
                f"{first.keyword!r} at {first.path}: {first.detail}. Fix: {first.fix}{more}. "
                "Nothing was sent.",
                issues=refused,
            )
        return self

    def render(self) -> str:
        """The report as text (``instructor-py schema check``)."""
        head = {"as_is": "sent as is", "rewritten": "rewritten", "refused": "refused"}[self.outcome]
        lines = [f"{self.target} [{self.variant}]: {head}"]
        lines.extend("  - " + issue.line() for issue in self.issues)
        if self.outcome == "rewritten":
            lines.append("  (the answer is still validated against your own schema)")
        return "\n".join(lines)

    def wire_json(self) -> str:
        return json.dumps(self.schema, indent=2, ensure_ascii=False)


Rule = Callable[[Mapping[str, Any], str], PreflightReport]


def _rules() -> dict[str, tuple[str, Rule]]:
    from instructor_py.schema import preflight_rules as r

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
