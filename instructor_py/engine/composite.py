"""Composite constraints -> llguidance's Lark dialect (with ``%json`` and named captures).

Every node of a :class:`~instructor_py.local.ConstraintSpec` tree becomes one rule ``r<N>``;
a labeled node gets ``capture="<label>"``, so the matcher reports the text it produced
(``LLMatcher.get_captures``). Simple kinds nest too: a JSON schema is an inline ``%json{...}``
(with the spec's whitespace options), a regex a ``/.../`` token, a choice an alternation of
strings, a Lark or GBNF grammar a sub-grammar referenced as ``@g<N>``. ``text`` nodes are gen
rules: ``r3[stop="</think>", max_tokens=64]: /(?s:.*)/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.errors import ConstraintCompileError
from instructor_py.constraints.kinds import ConstraintType
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.format_regex import DATE, DATE_TIME, replace_formats

__all__ = ["composite_grammar", "composite_lark", "dedupe_captures"]

_ANY_TEXT = "(?s:.*)"
_RAW = {"/": "\\/", "\n": "\\n", "\r": "\\r"}
#: Formats whose llguidance regex is looser than ``jsonschema`` (see the llguidance backend).
_FORMATS = {"date": DATE, "date-time": DATE_TIME}


@dataclass
class _Lark:
    rules: list[str] = field(default_factory=list)
    grammars: list[dict[str, Any]] = field(default_factory=list)

    def rule(self, body: str, attrs: list[str]) -> str:
        """Add a rule (its children were added before it) and return its name."""
        name = f"r{len(self.rules)}"
        attr = f"[{', '.join(attrs)}]" if attrs else ""
        self.rules.append(f"{name}{attr}: {body}")
        return name


def composite_lark(spec: ConstraintSpec) -> tuple[str, list[dict[str, Any]]]:
    """The main Lark grammar for ``spec`` (``start: r0``) and the sub-grammars it references."""
    out = _Lark()
    top = _node(spec, out)
    return "start: " + top + "\n" + "\n".join(out.rules) + "\n", out.grammars


def composite_grammar(spec: ConstraintSpec) -> str:
    """The llguidance grammar (JSON text) of a composite (or labeled) spec."""
    lark, subs = composite_lark(spec)
    return json.dumps({"grammars": [{"lark_grammar": lark}, *subs]}, ensure_ascii=False)


def _node(spec: ConstraintSpec, out: _Lark) -> str:
    attrs: list[str] = []
    if spec.label is not None:
        attrs.append(f"capture={json.dumps(spec.label)}")
    kind = spec.kind
    if kind == ConstraintType.TEMPLATE:
        inner = _node(spec.parts[0], out)
        return out.rule(inner, attrs) if attrs else inner
    if kind == ConstraintType.TEXT:
        params = json.loads(spec.data)
        if params["stop"] is not None:
            attrs.append(f"stop={json.dumps(params['stop'], ensure_ascii=False)}")
        if params["max_tokens"] is not None:
            attrs.append(f"max_tokens={int(params['max_tokens'])}")
        return out.rule(_regex_token(params["regex"] or _ANY_TEXT), attrs)
    if kind == ConstraintType.LITERAL:
        return out.rule(_string(spec.text), attrs)
    if kind == ConstraintType.CHOICE:
        return out.rule(" | ".join(_string(c) for c in spec.choices), attrs)
    if kind == ConstraintType.REGEX:
        return out.rule(_regex_token(spec.text), attrs)
    if kind == ConstraintType.JSON_SCHEMA:
        return out.rule("%json " + _json_body(spec), attrs)
    if kind == ConstraintType.GRAMMAR:
        sub = f"g{len(out.grammars) + 1}"
        if spec.syntax == "gbnf":
            from llguidance.gbnf_to_lark import gbnf_to_lark

            try:
                text = gbnf_to_lark(spec.text)
            except Exception as exc:
                raise ConstraintCompileError(f"GBNF grammar does not convert: {exc}") from exc
        else:
            text = spec.text
        out.grammars.append({"name": sub, "lark_grammar": text})
        return out.rule("@" + sub, attrs)
    parts = [_node(p, out) for p in spec.parts]
    body = " ".join(parts) if kind == ConstraintType.SEQUENCE else " | ".join(parts)
    return out.rule(body, attrs)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _regex_token(pattern: str) -> str:
    # inside /.../ a slash must be escaped; an already escaped one stays as it is
    escaped: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            escaped.append(pattern[i : i + 2])
            i += 2
            continue
        escaped.append(_RAW.get(ch, ch))
        i += 1
    return "/" + "".join(escaped) + "/"


def _json_body(spec: ConstraintSpec) -> str:
    schema = spec.schema
    if '"date' in spec.text:
        schema = replace_formats(schema, _FORMATS)
    if not isinstance(schema, dict):
        schema = {}
    compact = spec.options.whitespace == "compact"
    options = {
        "whitespace_flexible": not compact,
        "item_separator": ",",
        "key_separator": ":",
        "coerce_one_of": False,
        "lenient": spec.options.lenient,
    }
    return json.dumps({**schema, "x-guidance": options}, ensure_ascii=False)


def dedupe_captures(captures: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """``(label, text)`` in output order from llguidance's raw captures.

    llguidance reports a capture again each time the rule's lexeme grows (free text first shows
    up empty): a capture that directly follows one of the same name whose text it extends
    replaces it.
    """
    out: list[tuple[str, str]] = []
    for name, raw in captures:
        text = bytes(raw).decode("utf-8", errors="replace")
        if out and out[-1][0] == name and text.startswith(out[-1][1]):
            out[-1] = (name, text)
        else:
            out.append((name, text))
    return out
