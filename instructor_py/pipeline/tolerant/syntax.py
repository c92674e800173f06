"""A forgiving reader of JSON-like text: one left-to-right pass, every repair recorded.

It reads what models write instead of JSON: unquoted keys, single-quoted and backtick strings,
trailing or missing commas, ``//``, ``/* */`` and ``#`` comments, Python (``True``/``None``) and
JavaScript (``undefined``, ``NaN``) literals, unescaped quotes and raw newlines inside strings,
bare words as values, and a missing end (open objects and arrays are closed). The result is a
*loose* tree (:data:`Loose`): numbers keep their text (:class:`Num`), unquoted words are
:class:`Bare`, JavaScript's empty values are :data:`UNDEFINED`; the schema decides later what they
mean (:mod:`.coerce`).

Whether a quote ends a string is decided by what follows it: a quote followed by ``,``, ``:``,
``}``, ``]`` or the end of the text closes the string when what comes after fits the structure
(a comma in an object must be followed by a key, in an array by a value); any other quote is a
character of the string. Each character is looked at a bounded number of times, so reading is
linear in the text's length.
"""

from __future__ import annotations

from typing import Any, Final

from instructor_py.pipeline.tolerant.cursor import SKIPPABLE, Cursor
from instructor_py.pipeline.tolerant.lookahead import (
    OPENERS,
    STRING_SPECIAL,
    decode_escape,
    grouped_is_one_number,
    quote_closes,
    value_may_grow,
)
from instructor_py.pipeline.tolerant.loose import UNDEFINED, Bare, Loose, Num
from instructor_py.pipeline.tolerant.tokens import (
    BARE_VALUE,
    FAST_ITEM,
    FAST_MEMBER,
    GROUPED,
    KEY_PHRASE,
    KEY_WORD,
    LITERALS,
    LOOSE_NUMBER,
    NUMBER,
    SIMPLE,
)

__all__ = ["UNDEFINED", "Bare", "Num", "Reader", "TooDeep", "read_span"]

MAX_DEPTH: Final = 128
"""Deepest nesting the reader follows (deeper answers are refused, never a RecursionError)."""


class TooDeep(Exception):
    """The text nests deeper than :data:`MAX_DEPTH`."""


_MISSING: Final = object()
_JSON_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}



class Reader(Cursor):
    """Reads one value from ``text[start:end]``; ``repairs`` lists what it fixed.

    After :meth:`read`, ``pos`` is just past the value, ``truncated`` says open containers were
    closed at the end, ``open_string`` says the text ended inside a string, ``open_value`` that
    it ended inside (or just after) a value that more text could still change, and ``broken`` holds
    a reason when the text had pieces that fit no reading (a key without a value, stray
    characters): such a value is never taken as the answer."""

    # -- values ----------------------------------------------------------------------------

    def read(self) -> Loose:
        """Read one value (``_MISSING`` is never returned: nothing readable is ``broken``)."""
        value = self._value("top", 0)
        if value is _MISSING:
            self._break("no value")
            value = None
        self.value = value
        return value

    def _value(self, context: str, depth: int) -> Loose:
        self.skip()
        if self.at_end():
            return _MISSING
        ch = self.text[self.pos]
        if ch == "{":
            return self._object(depth + 1)
        if ch == "[":
            return self._array(depth + 1)
        if ch in OPENERS:
            return self._string(ch, context)
        value = self._scalar(context)
        if value is not _MISSING:
            self._mark_open(self.pos, context)
        return value

    def _mark_open(self, after: int, context: str) -> None:
        """Set ``open_value`` when the scalar that ends at ``after`` is the last thing in the
        text and more text could still change it (:func:`.lookahead.value_may_grow`)."""
        end = self.end
        if (after >= end or self.text[after] in " \t\r\n,") and value_may_grow(
            self.text, after, end, context
        ):
            self.open_value = True

    def _object(self, depth: int) -> dict[str, Loose]:
        if depth > MAX_DEPTH:
            raise TooDeep
        self.pos += 1
        out: dict[str, Loose] = {}
        after_comma = False
        noted: set[str] = set()
        while True:
            after_comma = self._fast_members(out, after_comma, noted, depth)
            step = self._boundary("}", "an object", "members", bool(out), after_comma)
            if step == "end":
                return out
            if step == "stray_comma":
                continue
            after_comma = False
            ch = self.text[self.pos]
            key = self._key()
            if key is None:
                self._break(f"unexpected character {ch!r} where a key was expected")
                self.pos += 1
                continue
            self.skip()
            if not self.at_end() and self.text[self.pos] in ":=":
                if self.text[self.pos] == "=":
                    self._repair("key_equals", "read '=' as ':'")
                self.pos += 1
            elif not self.at_end():
                self._path.append(key)
                self._break("a key without ':' and a value")
                self._path.pop()
                if self.text[self.pos] in ",}]":
                    continue
            self._path.append(key)
            value = self._value("object", depth)
            self._path.pop()
            if value is _MISSING:  # the text ended after the key
                self._truncated("}")
                return out
            if key in out and out[key] != value:
                self._path.append(key)
                self._break("the key appears twice with different values")
                self._path.pop()
            out[key] = value
            self.skip()
            if not self.at_end() and self.text[self.pos] == ",":
                self.pos += 1
                after_comma = True

    def _array(self, depth: int) -> list[Loose]:
        if depth > MAX_DEPTH:
            raise TooDeep
        self.pos += 1
        out: list[Loose] = []
        after_comma = False
        noted: set[str] = set()
        while True:
            after_comma = self._fast_items(out, after_comma, noted, depth)
            step = self._boundary("]", "an array", "items", bool(out), after_comma)
            if step == "end":
                return out
            if step == "stray_comma":
                continue
            after_comma = False
            self._path.append(len(out))
            value = self._value("array", depth)
            self._path.pop()
            if value is _MISSING:
                self._truncated("]")
                return out
            out.append(value)
            self.skip()
            if not self.at_end() and self.text[self.pos] == ",":
                self.pos += 1
                after_comma = True

    # -- the fast path (tokens.FAST_MEMBER / FAST_ITEM: the same readings, fewer steps) -----

    def _fast_members(
        self, out: dict[str, Loose], after_comma: bool, noted: set[str], depth: int
    ) -> bool:
        """Read the plain members that come next into ``out``; whether a comma came last."""
        text, end, match = self.text, self.end, FAST_MEMBER.match
        while (fast := match(text, self.pos, end)) is not None:
            if out and not after_comma:
                self._note(noted, "missing_comma", "added a missing comma between members")
            double_key, single_key, key, number, literal, double, single, python, comma, nested = (
                fast.groups()
            )
            if key is not None:
                if "unquoted_key" not in noted:
                    self._note(noted, "unquoted_key", "quoted an unquoted key")
            elif double_key is not None:
                key = double_key
            else:
                key = single_key
                if "single_quotes" not in noted:
                    self._note(noted, "single_quotes", "read a single-quoted string")
            self.pos = fast.end()
            value: Loose
            if double is not None:
                value = double
            elif single is not None:
                value = single
                if "single_quotes" not in noted:
                    self._note(noted, "single_quotes", "read a single-quoted string")
            elif nested is not None:
                self._path.append(key)
                value = self._object(depth + 1) if nested == "{" else self._array(depth + 1)
                self._path.pop()
            else:
                if number is not None:
                    value = Num(number, _to_number(number))
                else:
                    value = self._fast_literal(noted, literal, python)
                if self.pos >= end or (comma is None and text[self.pos] in " \t\r\n"):
                    self._mark_open(fast.end(4 if number else 5 if literal else 8), "object")
            if key in out and out[key] != value:
                self._path.append(key)
                self._break("the key appears twice with different values")
                self._path.pop()
            out[key] = value
            after_comma = comma is not None or self._comma()
        return after_comma

    def _fast_items(self, out: list[Loose], after_comma: bool, noted: set[str], depth: int) -> bool:
        """Read the plain items that come next into ``out``; whether a comma came last."""
        text, end, match = self.text, self.end, FAST_ITEM.match
        while (fast := match(text, self.pos, end)) is not None:
            if out and not after_comma:
                self._note(noted, "missing_comma", "added a missing comma between items")
            number, literal, double, single, python, comma, nested = fast.groups()
            self.pos = fast.end()
            if double is not None:
                out.append(double)
            elif single is not None:
                out.append(single)
                if "single_quotes" not in noted:
                    self._note(noted, "single_quotes", "read a single-quoted string")
            elif nested is not None:
                self._path.append(len(out))
                out.append(self._object(depth + 1) if nested == "{" else self._array(depth + 1))
                self._path.pop()
            else:
                if number is not None:
                    out.append(Num(number, _to_number(number)))
                else:
                    out.append(self._fast_literal(noted, literal, python))
                if self.pos >= end or (comma is None and text[self.pos] in " \t\r\n"):
                    self._mark_open(fast.end(1 if number else 2 if literal else 5), "array")
            after_comma = comma is not None or self._comma()
        return after_comma

    def _fast_literal(self, noted: set[str], literal: str | None, python: str | None) -> Loose:
        """A JSON literal, or a Python one (repaired)."""
        if literal is not None:
            return _JSON_LITERALS[literal]
        value, _ = LITERALS[python or ""]
        self._note(noted, "python_literal", f"read {python} as {_show(value)}")
        return value

    def _boundary(
        self, close: str, container: str, members: str, has_members: bool, after_comma: bool
    ) -> str:
        """The step before an object's or an array's next member: ``"end"`` (the container is
        closed, or the text ended: a truncated close), ``"stray_comma"`` (skipped), or
        ``"member"`` (one follows; a missing comma before it is repaired)."""
        if self.pos < self.end and self.text[self.pos] in SKIPPABLE:
            self.skip()
        if self.pos >= self.end:
            self._truncated(close)
            return "end"
        ch = self.text[self.pos]
        if ch in "}]":
            if ch != close:
                self._repair("mismatched_bracket", f"read '{ch}' as the '{close}' that closes {container}")
            if after_comma:
                self._repair("trailing_comma", f"removed a comma before '{close}'")
            self.pos += 1
            return "end"
        if ch == ",":
            self._repair("extra_comma", "removed a stray comma")
            self.pos += 1
            return "stray_comma"
        if has_members and not after_comma:
            self._repair("missing_comma", f"added a missing comma between {members}")
        return "member"

    def _truncated(self, closer: str) -> None:
        self.truncated = True
        self._repair("truncated_close", f"the answer ended early; added the closing {closer!r}")

    def _key(self) -> str | None:
        text, pos = self.text, self.pos
        ch = text[pos]
        if ch in OPENERS:
            key = self._string(ch, "key")
            return key if isinstance(key, str) else None
        match = KEY_WORD.match(text, pos, self.end)
        if match is None:
            return None
        after = match.end()
        while after < self.end and text[after] in " \t":
            after += 1
        if after < self.end and text[after] not in ":=":  # maybe a key of several words
            match = KEY_PHRASE.match(text, pos, self.end) or match
        self.pos = match.end()
        self._repair("unquoted_key", "quoted an unquoted key")
        return match.group().strip()

    def _string(self, quote: str, context: str) -> str:
        text, end = self.text, self.end
        special = STRING_SPECIAL[quote]
        member = context in ("object", "array")
        if quote == "'":
            self._repair("single_quotes", "read a single-quoted string", member)
        elif quote == "`":
            self._repair("backtick_string", "read a backtick string", member)
        elif quote in "\u201c\u2018":
            self._repair("typographic_quotes", "read a string in typographic quotes", member)
        parts: list[str] = []
        pos = self.pos + 1
        while True:
            match = special.search(text, pos, end)
            if match is None:
                parts.append(text[pos:end])
                self.pos = end
                self.open_string = True
                self.open_value = self.open_value or context != "key"
                self._repair("truncated_string", "the answer ended inside a string")
                return "".join(parts)
            at = match.start()
            parts.append(text[pos:at])
            ch = text[at]
            if ch == "\n":
                parts.append("\n")
                self._repair("raw_newline", "kept a raw line break inside a string", member)
                pos = at + 1
            elif ch == "\\":
                pos, invalid = decode_escape(text, at, end, parts)
                if invalid is not None:
                    self._repair("invalid_escape", invalid, member)
            elif quote_closes(text, at + 1, end, context):
                self.pos = at + 1
                return parts[0] if len(parts) == 1 else "".join(parts)
            else:
                parts.append(ch)
                self._repair("unescaped_quote", f"kept an unescaped {ch} inside a string", member)
                pos = at + 1

    def _scalar(self, context: str) -> Loose:
        text, pos, end = self.text, self.pos, self.end
        simple = SIMPLE.match(text, pos, end)
        if simple is not None and not (context == "object" and GROUPED.match(text, pos, end)):
            token = simple.group(1)
            self.pos = simple.end(1)
            if token[0] in "tfn":
                return _JSON_LITERALS[token]
            return Num(token, _to_number(token))
        if context == "object":
            grouped = GROUPED.match(text, pos, end)
            if grouped is not None and grouped_is_one_number(text, grouped.end(), end):
                self.pos = grouped.end()
                self._repair("number_thousands", f"read {grouped.group()} as one number")
                raw = grouped.group().replace(",", "")
                return Num(raw, float(raw) if "." in raw else int(raw))
        match = BARE_VALUE.match(text, pos, end)
        assert match is not None
        token = match.group()
        cut = _comment_start(token)
        token = token[:cut].rstrip()
        if not token:
            return _MISSING if pos >= end else self._stray()
        self.pos = pos + len(token)
        if (literal := LITERALS.get(token)) is not None:
            value, kind = literal
            if kind is not None:
                self._repair(kind, f"read {token} as {_show(value)}", member=True)
            return value
        if NUMBER.fullmatch(token):
            return Num(token, _to_number(token))
        if LOOSE_NUMBER.fullmatch(token):
            self._repair("number_format", f"read {token} as a number", member=True)
            return Num(token, _to_number(token))
        if token.strip(".…") == "":  # "[1, 2, ...]": values left out, not a value
            self._break("an ellipsis stands for values that were not written")
            return None
        self._repair("unquoted_string", f"read the unquoted {token[:40]!r} as a string", member=True)
        return Bare(token)

    def _stray(self) -> Loose:
        ch = self.text[self.pos]
        if ch in ",}]":  # a value was expected: it is missing (the container reads the rest)
            self._break("a missing value")
            return None
        self._break(f"unexpected character {ch!r}")
        self.pos += 1
        return None


def _comment_start(token: str) -> int:
    """Where a trailing ``//`` or `` #`` comment begins in a bare token (its length if none)."""
    cut = len(token)
    for mark in (" //", "\t//", " #", "\t#", "/*"):
        at = token.find(mark)
        if at >= 0:
            cut = min(cut, at)
    if token.startswith(("//", "#")):
        cut = 0
    return cut


def _to_number(token: str) -> int | float:
    token = token.lstrip("+")
    if "." in token or "e" in token or "E" in token:
        return float(token)
    return int(token)


def _show(value: Any) -> str:
    return {True: "true", False: "false", None: "null"}.get(value, "no value")


def read_span(text: str, start: int, end: int) -> Reader:
    """A :class:`Reader` that has read one value from ``text[start:end]``."""
    reader = Reader(text, start, end)
    reader.read()
    return reader
