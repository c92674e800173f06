"""The records of a schema preflight: one :class:`PreflightIssue` per incompatibility and the
:class:`PreflightReport` of one schema and target (see :mod:`instructor_py.schema.preflight`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from instructor_py.common.errors import SchemaPreflightError

__all__ = ["Action", "Outcome", "PreflightIssue", "PreflightReport", "Rule"]

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
