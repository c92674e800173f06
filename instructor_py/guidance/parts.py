"""The pieces of a parsed Guidance template: literal text and variables (gen/select/json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from instructor_py.constraints.spec import ConstraintSpec

__all__ = ["GuidanceTemplateType", "GuidanceVariable", "TemplateLiteral", "TemplatePart"]


class GuidanceTemplateType(StrEnum):
    """The kinds of element a template is made of."""

    LITERAL = "literal"
    GEN = "gen"
    SELECT = "select"
    JSON = "json"


@dataclass(frozen=True)
class GuidanceVariable:
    """One variable of a template (a ``gen``, ``select`` or ``json`` tag) and where it is."""

    name: str
    type: GuidanceTemplateType
    regex: str | None = None
    stop: str | None = None
    max_tokens: int | None = None
    options: tuple[str, ...] = ()
    schema: str | None = None  # canonical JSON text
    line: int = 1
    column: int = 1
    implicit_stop: bool = False  # the stop is the literal text that follows

    def to_constraint(self) -> ConstraintSpec:
        """The constraint generating this variable, labeled with its name (needs the local
        extra)."""
        from instructor_py.constraints.spec import ConstraintSpec

        if self.type is GuidanceTemplateType.SELECT:
            spec = ConstraintSpec.choice(self.options)
        elif self.type is GuidanceTemplateType.JSON:
            spec = ConstraintSpec.json_schema(self.schema or "{}", allow_relaxed=False)
        else:
            spec = ConstraintSpec.text(stop=self.stop, regex=self.regex, max_tokens=self.max_tokens)
        return spec.labeled(self.name)

    def to_pattern(self) -> str:
        """A Python regular expression (a named group) matching this variable's text, to parse
        an answer that was not generated under the constraint (remote models)."""
        name = group_name(self.name)
        if self.type is GuidanceTemplateType.SELECT:
            alts = sorted(self.options, key=len, reverse=True)
            return f"(?P<{name}>{'|'.join(re.escape(o) for o in alts)})"
        if self.type is GuidanceTemplateType.JSON:
            top = json.loads(self.schema or "{}")
            kind = top.get("type") if isinstance(top, dict) else None
            if kind == "object":
                return f"(?P<{name}>\\{{.*\\}})"
            if kind == "array":
                return f"(?P<{name}>\\[.*\\])"
            return f"(?P<{name}>.+?)"
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error:
                return f"(?P<{name}>.*?)"
            return f"(?P<{name}>{self.regex})"
        if self.stop is None:  # free text to the end of the answer
            return f"(?P<{name}>.*)"
        if self.implicit_stop:  # the template's own literal text follows
            return f"(?P<{name}>.*?){flexible(self.stop)}"
        # up to the first stop string (as in generation); a free answer may leave it out
        stop = re.escape(self.stop)
        return f"(?P<{name}>(?:(?!{stop}).)*)(?:{stop})?"


@dataclass(frozen=True)
class TemplateLiteral:
    """Literal text of a template."""

    text: str


TemplatePart = TemplateLiteral | GuidanceVariable


def json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def group_name(name: str) -> str:
    return "v_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)


def flexible(text: str) -> str:
    pieces = re.split(r"(\s+)", text)
    return "".join(r"\s*" if p.isspace() else re.escape(p) for p in pieces if p)
