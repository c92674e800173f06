"""The parser of Guidance templates: source text -> literal and variable parts, with errors
naming the line and column (:class:`~instructor_py.common.errors.TemplateError`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from instructor_py.common.errors import TemplateError
from instructor_py.guidance.lexing import TOKEN, regex_problem, unquote
from instructor_py.guidance.parts import (
    GuidanceTemplateType,
    GuidanceVariable,
    TemplateLiteral,
    TemplatePart,
)
from instructor_py.schema.text import canonical_schema_text

__all__ = ["TemplateParser"]


_GEN_ARGS = frozenset({"regex", "stop", "max_tokens"})


@dataclass
class _Tag:
    start: int  # offset of "{{"
    body: str
    body_start: int


class TemplateParser:
    """Parses one template source against its variables (see :mod:`instructor_py.guidance.template`)."""

    def __init__(self, source: str, variables: dict[str, Any]) -> None:
        self.src = source
        self.vars = variables
        self.used: dict[str, Any] = {}
        self.schema_refs: set[str] = set()
        self.names: dict[str, int] = {}
        self.parts: list[TemplatePart] = []
        self.pos = 0

    # positions and errors
    def where(self, offset: int) -> tuple[int, int]:
        line = self.src.count("\n", 0, offset) + 1
        column = offset - (self.src.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def error(self, message: str, offset: int) -> TemplateError:
        line, column = self.where(offset)
        return TemplateError(message, line=line, column=column)

    # scanning
    def parse(self) -> tuple[TemplatePart, ...]:
        text: list[str] = []
        while self.pos < len(self.src):
            i = self.src.find("{{", self.pos)
            esc = self.src.find("\\{{", self.pos)
            if esc != -1 and (i == -1 or esc < i):
                text.append(self.src[self.pos : esc] + "{{")
                self.pos = esc + 3
                continue
            if i == -1:
                text.append(self.src[self.pos :])
                break
            text.append(self.src[self.pos : i])
            tag = self.read_tag(i)
            if tag.body.startswith("!"):
                continue  # a comment
            self.flush(text)
            self.tag(tag)
        self.flush(text)
        return self.finish()

    def flush(self, text: list[str]) -> None:
        joined = "".join(text)
        text.clear()
        if joined:
            if self.parts and isinstance(self.parts[-1], TemplateLiteral):
                joined = self.parts.pop().text + joined  # type: ignore[union-attr]
            self.parts.append(TemplateLiteral(joined))

    def read_tag(self, start: int) -> _Tag:
        src = self.src
        if src.startswith("{{!--", start):
            end = src.find("--}}", start + 5)
            if end == -1:
                raise self.error("unclosed comment '{{!--': add '--}}'", start)
            self.pos = end + 4
            return _Tag(start, "!", start + 2)
        j = start + 2
        quote: str | None = None
        while j < len(src):
            ch = src[j]
            if quote is not None:
                if ch == "\\":
                    j += 2
                    continue
                if ch == quote:
                    quote = None
            elif ch in "'\"" and not src.startswith("{{!", start):
                quote = ch
            elif src.startswith("}}", j):
                self.pos = j + 2
                raw = src[start + 2 : j]
                lead = len(raw) - len(raw.lstrip())
                return _Tag(start, raw.strip(), start + 2 + lead)
            j += 1
        what = "string in the tag" if quote else "tag"
        raise self.error(f"unclosed {what}: '{{{{' has no matching '}}}}'", start)

    # tags
    def tag(self, tag: _Tag) -> None:
        body = tag.body
        if not body:
            raise self.error("empty tag '{{}}'", tag.start)
        if body.startswith("#"):
            self.block(tag)
            return
        if body.startswith("/") or body == "or":
            raise self.error(f"'{{{{{body}}}}}' without an open '{{{{#select ...}}}}'", tag.start)
        tokens = self.tokens(body, tag.body_start)
        head, head_at = tokens[0]
        if head[0] != "ident":
            raise self.error(f"a tag starts with a name, got {head[1]!r}", head_at)
        word = head[1]
        if word in ("gen", "select", "json"):
            self.variable(word, tokens, tag)
            return
        if len(tokens) > 1:
            raise self.error(
                f"unknown tag {word!r}: use gen, select, json, #select, or {{{{name}}}} to "
                "interpolate a variable",
                tag.start,
            )
        if word not in self.vars:
            raise self.error(self.unknown(word), head_at)
        value = self.vars[word]
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        self.used[word] = text
        self.parts.append(TemplateLiteral(text))

    def unknown(self, name: str) -> str:
        known = ", ".join(sorted(self.vars)) or "none given"
        return f"unknown variable {name!r}: pass it in variables (known: {known})"

    def tokens(self, body: str, base: int) -> list[tuple[tuple[str, Any], int]]:
        out: list[tuple[tuple[str, Any], int]] = []
        i = 0
        while i < len(body):
            if body[i:].strip() == "":
                break
            m = TOKEN.match(body, i)
            if m is None or m.end() == i:
                at = base + i + (len(body[i:]) - len(body[i:].lstrip()))
                raise self.error(f"unexpected text {body[i:].strip()[:20]!r} in the tag", at)
            at = base + m.start(m.lastgroup or 0)
            kind = m.lastgroup or ""
            raw = m.group(kind)
            value: Any = raw
            if kind == "str":
                value = unquote(raw[1:-1])
            elif kind == "int":
                value = int(raw)
            out.append(((kind, value), at))
            i = m.end()
        return out

    def arguments(
        self, word: str, tokens: list[tuple[tuple[str, Any], int]], tag: _Tag
    ) -> tuple[str, int, dict[str, tuple[Any, int]]]:
        if len(tokens) < 2 or tokens[1][0][0] != "str":
            raise self.error(
                f"{word} needs a variable name in quotes: {{{{{word} 'name' ...}}}}", tag.start
            )
        name, name_at = tokens[1][0][1], tokens[1][1]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
            raise self.error(f"invalid variable name {name!r} (letters, digits, _ . -)", name_at)
        if name in self.names:
            first = self.where(self.names[name])
            raise self.error(
                f"duplicate variable name {name!r} (first used at line {first[0]}, column "
                f"{first[1]})",
                name_at,
            )
        self.names[name] = name_at
        args: dict[str, tuple[Any, int]] = {}
        i = 2
        while i < len(tokens):
            (kind, key), at = tokens[i]
            if kind != "ident":
                raise self.error(f"expected key=value, got {key!r}", at)
            if i + 1 >= len(tokens) or tokens[i + 1][0] != ("punct", "="):
                raise self.error(f"expected '=' after {key!r}", at)
            if i + 2 >= len(tokens):
                raise self.error(f"{key}= has no value", at)
            value, i = self.value(tokens, i + 2)
            if key in args:
                raise self.error(f"argument {key!r} given twice", at)
            args[key] = (value, at)
        return name, name_at, args

    def value(self, tokens: list[tuple[tuple[str, Any], int]], i: int) -> tuple[Any, int]:
        (kind, value), at = tokens[i]
        if kind in ("str", "int"):
            return value, i + 1
        if kind == "ident":
            return ("$var", value, at), i + 1
        if (kind, value) == ("punct", "["):
            items: list[Any] = []
            i += 1
            while i < len(tokens) and tokens[i][0] != ("punct", "]"):
                (k, v), a = tokens[i]
                if k != "str":
                    raise self.error(f"a list holds quoted strings, got {v!r}", a)
                items.append(v)
                i += 1
                if i < len(tokens) and tokens[i][0] == ("punct", ","):
                    i += 1
            if i >= len(tokens):
                raise self.error("unclosed list: add ']'", at)
            return items, i + 1
        raise self.error(f"unexpected {value!r}", at)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, tuple) and value and value[0] == "$var":
            _, name, at = value
            if name not in self.vars:
                raise self.error(self.unknown(name), at)
            return self.vars[name], name
        return value, None

    def variable(self, word: str, tokens: list[tuple[tuple[str, Any], int]], tag: _Tag) -> None:
        name, _, args = self.arguments(word, tokens, tag)
        line, column = self.where(tag.start)
        allowed = {"gen": _GEN_ARGS, "select": {"options"}, "json": {"schema"}}[word]
        for key, (_, at) in args.items():
            if key not in allowed:
                raise self.error(
                    f"{word} takes no argument {key!r} (it takes {', '.join(sorted(allowed))})", at
                )
        if word == "gen":
            self.parts.append(self.gen(name, args, line, column))
        elif word == "select":
            if "options" not in args:
                raise self.error(
                    f"select {name!r} has no options: add options=['a', 'b']", tag.start
                )
            raw, at = args["options"]
            options, ref = self.resolve(raw)
            self.parts.append(self.select(name, options, at, line, column, ref))
        else:
            if "schema" not in args:
                raise self.error(f"json {name!r} needs schema=X (X given in variables)", tag.start)
            raw, at = args["schema"]
            schema, ref = self.resolve(raw)
            text = self.schema(schema, at)
            if ref is not None:
                self.used[ref] = json.loads(text)
                self.schema_refs.add(ref)
            self.parts.append(
                GuidanceVariable(
                    name, GuidanceTemplateType.JSON, schema=text, line=line, column=column
                )
            )

    def gen(
        self, name: str, args: dict[str, tuple[Any, int]], line: int, column: int
    ) -> GuidanceVariable:
        values: dict[str, Any] = {}
        for key, (raw, at) in args.items():
            value, ref = self.resolve(raw)
            if key == "max_tokens":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise self.error(f"max_tokens must be an int >= 1, got {value!r}", at)
            elif not isinstance(value, str) or value == "":
                raise self.error(f"{key} must be a non-empty string, got {value!r}", at)
            if key == "regex":
                self.check_regex(value, at)
            if ref is not None:
                self.used[ref] = value
            values[key] = value
        return GuidanceVariable(
            name,
            GuidanceTemplateType.GEN,
            regex=values.get("regex"),
            stop=values.get("stop"),
            max_tokens=values.get("max_tokens"),
            line=line,
            column=column,
        )

    def select(
        self, name: str, options: Any, at: int, line: int, column: int, ref: str | None
    ) -> GuidanceVariable:
        if not isinstance(options, list | tuple) or not options:
            raise self.error(f"select {name!r} has no options: give a non-empty list", at)
        bad = [o for o in options if not isinstance(o, str) or o == ""]
        if bad:
            raise self.error(
                f"select {name!r}: options must be non-empty strings, got {bad[0]!r}", at
            )
        if ref is not None:
            self.used[ref] = list(options)
        unique = tuple(dict.fromkeys(options))
        return GuidanceVariable(
            name, GuidanceTemplateType.SELECT, options=unique, line=line, column=column
        )

    def schema(self, schema: Any, at: int) -> str:
        from instructor_py.common.errors import InvalidSchemaError

        if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
            schema = schema.model_json_schema()
        try:
            return canonical_schema_text(schema)
        except InvalidSchemaError as exc:
            raise self.error(f"schema: {exc}", at) from None

    def check_regex(self, pattern: str, at: int) -> None:
        problem = regex_problem(pattern)
        if problem:
            raise self.error(f"llguidance cannot compile regex {pattern!r}: {problem}", at)

    def block(self, tag: _Tag) -> None:
        tokens = self.tokens(tag.body[1:], tag.body_start + 1)
        if not tokens or tokens[0][0] != ("ident", "select"):
            raise self.error("the only block tag is {{#select 'name'}}...{{/select}}", tag.start)
        name, _, args = self.arguments("select", tokens, tag)
        if args:
            key, (_, at) = next(iter(args.items()))
            raise self.error(f"a select block takes no argument {key!r}", at)
        line, column = self.where(tag.start)
        options: list[str] = []
        current: list[str] = []
        while True:
            i = self.src.find("{{", self.pos)
            if i == -1:
                raise self.error(
                    f"unclosed {{{{#select '{name}'}}}}: add {{{{/select}}}}", tag.start
                )
            current.append(self.src[self.pos : i])
            inner = self.read_tag(i)
            if inner.body.startswith("!"):
                continue
            if inner.body == "or":
                options.append("".join(current))
                current = []
                continue
            if inner.body == "/select":
                options.append("".join(current))
                break
            raise self.error("a select block holds only text and {{or}}", inner.start)
        if not any(options) or any(o == "" for o in options):
            raise self.error(f"select {name!r} has an empty option", tag.start)
        self.parts.append(
            GuidanceVariable(
                name,
                GuidanceTemplateType.SELECT,
                options=tuple(dict.fromkeys(options)),
                line=line,
                column=column,
            )
        )

    def finish(self) -> tuple[TemplatePart, ...]:
        """Give a gen without stop/regex the literal that follows as its stop."""
        parts = list(self.parts)
        out: list[TemplatePart] = []
        i = 0
        while i < len(parts):
            part = parts[i]
            nxt = parts[i + 1] if i + 1 < len(parts) else None
            if (
                isinstance(part, GuidanceVariable)
                and part.type is GuidanceTemplateType.GEN
                and part.stop is None
                and part.regex is None
            ):
                if isinstance(nxt, TemplateLiteral):
                    out.append(
                        GuidanceVariable(
                            part.name, part.type, None, nxt.text, part.max_tokens, (), None,
                            part.line, part.column, implicit_stop=True,
                        )
                    )  # fmt: skip
                    i += 2
                    continue
                if nxt is not None and part.max_tokens is None:
                    offset = self.names[part.name]
                    raise self.error(
                        f"gen {part.name!r} is followed directly by another variable: give it "
                        "stop=, regex= or max_tokens= so it knows where to end",
                        offset,
                    )
            out.append(part)
            i += 1
        return tuple(out)
