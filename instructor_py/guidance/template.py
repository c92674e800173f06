"""Guidance-style templates (the handlebars syntax of Guidance's original templates), parsed.

Syntax:

- literal text, output as it is (``\\{{`` writes a literal ``{{``);
- ``{{gen 'name' regex='...' stop='...' max_tokens=N}}``: generated text. Without ``stop`` and
  ``regex``, a gen followed by literal text stops at that text (Guidance's behaviour); a gen at
  the end runs to the end of the output (or ``max_tokens``). An explicit ``stop`` string is
  generated and kept in the output, but not in the variable (when the literal text after the gen
  begins with the stop string, the two overlap: ``{{gen 'x' stop='\\n'}}\\nAge`` outputs one
  newline);
- ``{{select 'name' options=['a', 'b']}}`` (or ``options=var``) and the block form
  ``{{#select 'name'}}a{{or}}b{{/select}}``: one of the options;
- ``{{json 'name' schema=X}}``: a JSON value of the schema ``X`` (a JSON schema dict, JSON text,
  or a pydantic model class given in ``variables``);
- ``{{name}}``: the value of ``variables["name"]``, interpolated as literal text;
- ``{{! comment }}`` / ``{{!-- comment --}}``: left out.

Bad input raises :class:`~instructor_py.common.errors.TemplateError` naming the line and column: an
unclosed tag or block, an unknown variable, a regex llguidance cannot compile, a select without
options, a duplicate variable name, an unknown tag or argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from instructor_py.common.errors import TemplateError
from instructor_py.guidance.parser import TemplateParser
from instructor_py.guidance.parts import (
    GuidanceTemplateType,
    GuidanceVariable,
    TemplateLiteral,
    TemplatePart,
    flexible,
    group_name,
    json_value,
)

if TYPE_CHECKING:
    from instructor_py.constraints.spec import ConstraintSpec

__all__ = ["GuidanceTemplate", "GuidanceTemplateType", "GuidanceVariable", "template_constraint"]


@dataclass(frozen=True)
class GuidanceTemplate:
    """A template, parsed at construction (errors name the line and column).

    ``variables`` supplies the values of ``{{name}}`` interpolations, of ``schema=X`` and of
    ``options=X``. :attr:`cache_key` is equal for templates that compile to the same grammar.
    """

    template: str
    variables: Mapping[str, Any] | None = None
    parts: tuple[TemplatePart, ...] = field(init=False, repr=False)
    used: Mapping[str, Any] = field(init=False, repr=False)
    schema_refs: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str):
            raise TemplateError(
                f"a template is a str, got {type(self.template).__name__}", line=1, column=1
            )
        parser = TemplateParser(self.template, dict(self.variables or {}))
        parts = parser.parse()
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "used", parser.used)
        object.__setattr__(self, "schema_refs", frozenset(parser.schema_refs))

    def closed(self) -> GuidanceTemplate:
        """This template with the object schemas of its json variables closed
        (``additionalProperties: false`` where unset), as the local provider does for response
        schemas: a small model may otherwise invent keys forever. Only schemas given through
        ``variables`` are closed (needs the local extra)."""
        from instructor_py.schema.prep import close_object_schemas

        if not self.schema_refs:
            return self
        variables = dict(self.variables or {})
        for ref in self.schema_refs:
            variables[ref] = close_object_schemas(self.used[ref])
        return GuidanceTemplate(self.template, variables)

    @property
    def cache_key(self) -> str:
        """Equal for templates that compile to the same grammar (needs the local extra)."""
        return self.to_constraint().to_cache_key()

    def get_prefix_text(self) -> str:
        """The literal text before the first variable (forced, never sampled)."""
        out: list[str] = []
        for part in self.parts:
            if not isinstance(part, TemplateLiteral):
                break
            out.append(part.text)
        return "".join(out)

    def get_variable_sequence(self) -> list[GuidanceVariable]:
        """The variables in template order."""
        return [p for p in self.parts if isinstance(p, GuidanceVariable)]

    def to_constraint(self) -> ConstraintSpec:
        """The ``template`` :class:`ConstraintSpec`: the template text, the variables it used
        (canonical JSON), and the lowered sequence of literals and labeled variables."""
        from instructor_py.constraints.kinds import ConstraintType
        from instructor_py.constraints.spec import ConstraintSpec

        lowered: list[ConstraintSpec | str] = []
        for part in self.parts:
            lowered.append(part.text if isinstance(part, TemplateLiteral) else part.to_constraint())
        if not lowered:
            raise TemplateError("the template is empty", line=1, column=1)
        data = json.dumps(self.used, ensure_ascii=False)  # key order matters (property order)
        return ConstraintSpec(
            ConstraintType.TEMPLATE,
            self.template,
            parts=(ConstraintSpec.sequence(*lowered),),
            data=data,
        )

    def to_pattern(self) -> str:
        """A Python regex (named groups per variable) matching an answer to the template;
        literal whitespace matches any whitespace."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, TemplateLiteral):
                out.append(flexible(part.text))
            else:
                out.append(part.to_pattern())
        return "".join(out)

    def render(self, values: Mapping[str, Any]) -> str:
        """The template filled in with ``values`` (json variables as compact JSON, an explicit
        stop string after its gen's value unless the literal text after it begins with it):
        what a generation producing them outputs. Raises ValueError naming a missing
        variable."""
        out: list[str] = []
        for i, part in enumerate(self.parts):
            if isinstance(part, TemplateLiteral):
                out.append(part.text)
                continue
            if part.name not in values:
                raise ValueError(f"no value for template variable {part.name!r}")
            value = values[part.name]
            if part.type is GuidanceTemplateType.JSON:
                out.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
            else:
                out.append(value if isinstance(value, str) else json.dumps(value))
                nxt = self.parts[i + 1] if i + 1 < len(self.parts) else None
                overlaps = isinstance(nxt, TemplateLiteral) and nxt.text.startswith(part.stop or "")
                if part.implicit_stop or (part.stop is not None and not overlaps):
                    # (an implicit stop is the template's literal text; llguidance lets an
                    # explicit one double as the start of the literal text after it)
                    out.append(part.stop or "")
        return "".join(out)

    def parse_answer(self, text: str) -> dict[str, Any]:
        """The variables of an answer that was not generated under the template's constraint
        (a remote model's), matched with :meth:`to_pattern`; json variables are parsed.

        Raises ValueError saying where the answer stops following the template.
        """
        match = re.search(self.to_pattern(), text, re.DOTALL)
        if match is None:
            done = self._matched_parts(text)
            if done < len(self.parts):
                part = self.parts[done]
                what = (
                    f"the text {part.text[:40]!r}"
                    if isinstance(part, TemplateLiteral)
                    else f"{part.type.value} variable {part.name!r}"
                )
            else:
                what = "the end of the template"
            raise ValueError(f"the answer does not follow the template: expected {what}")
        out: dict[str, Any] = {}
        for var in self.get_variable_sequence():
            raw = match.group(group_name(var.name))
            if var.type is GuidanceTemplateType.JSON:
                try:
                    out[var.name] = json.loads(raw)
                except ValueError as exc:
                    raise ValueError(f"variable {var.name!r} is not valid JSON: {exc}") from None
            else:
                out[var.name] = raw
        return out

    def partial_values(self, text: str) -> dict[str, Any]:
        """The variables found so far in a growing answer: the complete ones, and the one being
        generated (as its text so far; a json variable only once it parses)."""
        for k in range(len(self.parts), 0, -1):
            head = "".join(_pattern(p) for p in self.parts[: k - 1])
            last = self.parts[k - 1]
            if isinstance(last, TemplateLiteral):
                tail = _prefix_pattern(last.text) if k < len(self.parts) else _pattern(last)
            elif last.type is GuidanceTemplateType.SELECT:
                # shown only once complete (a prefix would mislead): match a prefix, capture none
                tail = "(?:" + "|".join(_prefix_pattern(o) for o in last.options) + ")"
            else:
                tail = f"(?P<{group_name(last.name)}>.*)" if k < len(self.parts) else _pattern(last)
            match = re.match(r"\s*" + head + tail + r"\s*\Z", text, re.DOTALL)
            if match is None:
                continue
            out: dict[str, Any] = {}
            for var in self.get_variable_sequence():
                try:
                    raw = match.group(group_name(var.name))
                except IndexError:
                    break
                if var.type is GuidanceTemplateType.JSON:
                    try:
                        out[var.name] = json.loads(raw)
                    except ValueError:
                        continue
                else:
                    out[var.name] = raw
            return out
        return {}

    def _matched_parts(self, text: str) -> int:
        """How many leading parts of the template the text follows."""
        for k in range(len(self.parts), 0, -1):
            head = "".join(_pattern(p) for p in self.parts[:k])
            if re.search(head, text, re.DOTALL) is not None:
                return k
        return 0

    def variable_schema(self) -> dict[str, Any]:
        """The JSON schema of the dict of captured values (every variable required)."""
        props: dict[str, Any] = {}
        for var in self.get_variable_sequence():
            if var.type is GuidanceTemplateType.SELECT:
                props[var.name] = {"type": "string", "enum": list(var.options)}
            elif var.type is GuidanceTemplateType.JSON:
                props[var.name] = json.loads(var.schema or "{}")
            else:
                props[var.name] = {"type": "string"}
        return {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    def values_from_segments(self, segments: list[tuple[str, str]]) -> dict[str, Any]:
        """The variables' values from a matcher's ``(label, text)`` segments (JSON parsed)."""
        kinds = {v.name: v.type for v in self.get_variable_sequence()}
        out: dict[str, Any] = {}
        for label, text in segments:
            kind = kinds.get(label)
            if kind is None:
                continue
            out[label] = json_value(text) if kind is GuidanceTemplateType.JSON else text
        return out


def _pattern(part: TemplatePart) -> str:
    return flexible(part.text) if isinstance(part, TemplateLiteral) else part.to_pattern()


def _prefix_pattern(text: str) -> str:
    """A regex matching any prefix of ``text`` (whitespace flexible)."""
    out = ""
    for ch in reversed(text):
        piece = r"\s*" if ch.isspace() else re.escape(ch)
        out = f"(?:{piece}{out})?"
    return out


def template_constraint(text: str, variables: Mapping[str, Any] | None = None) -> ConstraintSpec:
    """The ``template`` :class:`ConstraintSpec` of a Guidance-style template: literal text with
    ``{{gen}}``, ``{{select}}`` and ``{{json}}`` variables (what ``ConstraintSpec.template(...)``
    was). A syntax error raises :class:`~instructor_py.common.errors.TemplateError` naming the
    line and column."""
    return GuidanceTemplate(text, variables).to_constraint()
