"""An incremental (push) JSON parser with linear total cost.

Text is pushed in chunks split anywhere (inside a string, an escape, a ``\\uXXXX`` sequence or a
surrogate pair, a number, a literal). Each character is examined a bounded number of times over
the whole stream: runs of string content, whitespace and number characters are consumed with
compiled regular expressions, structural characters by a small state machine (this module: the
lexer). The value tree it drives (:mod:`instructor_py.streaming.json_tree`) keeps:

- the raw value being built (mutable dicts and lists updated in place; ``value`` once done);
- optionally a *snapshot* of the partial value (:meth:`snapshot`) built through a :class:`Shape`
  (plain dicts, or partial pydantic twins — see :mod:`instructor_py.streaming.partial_model`).
  Snapshots use structural sharing: completed sub-values are snapshotted once, when they close,
  and a new snapshot rebuilds only the containers on the path to what changed (the open
  containers), so its cost is O(depth x fields of the open objects), independent of the length of
  the document. ``version`` is bumped on every visible change, so "did anything change?" is O(1);
- optionally a list of events (:class:`ValueCompleted`, :class:`ItemCompleted`).

Numbers and ``true``/``false``/``null`` appear in snapshots only once complete (a half-streamed
``12`` of ``123`` is never shown); strings appear as they grow unless ``partial_strings=False``
(or the shape marks them atomic: ``Literal``/``Enum`` values).
Leniency: raw control characters inside strings are accepted (models emit them); everything else
follows RFC 8259. Parsing stops when the root value is complete: :meth:`feed` returns how many
characters of the chunk it used, so a caller can ignore trailing text.
"""

from __future__ import annotations

import re
from typing import Any, Final

from instructor_py.streaming.json_events import (
    ItemCompleted,
    JsonStreamError,
    ParseEvent,
    Path,
    ValueCompleted,
)
from instructor_py.streaming.json_tree import (
    A_COMMA_OR_END,
    A_VALUE,
    A_VALUE_OR_END,
    O_COLON,
    O_COMMA_OR_END,
    O_KEY,
    O_KEY_OR_END,
    O_VALUE,
    JsonTree,
)
from instructor_py.streaming.shapes import MISSING, RAW_SHAPE, Shape

__all__ = [
    "IncrementalJsonParser",
    "ItemCompleted",
    "JsonStreamError",
    "ParseEvent",
    "Path",
    "ValueCompleted",
]

# Lexer modes.
_L_STRUCT: Final = 0
_L_STR: Final = 1
_L_ESC: Final = 2
_L_UNI: Final = 3
_L_NUM: Final = 4
_L_LIT: Final = 5

# the states in which a closing bracket ends the open container
_OBJECT_ENDS: Final = (O_COMMA_OR_END, O_KEY_OR_END)
_ARRAY_ENDS: Final = (A_COMMA_OR_END, A_VALUE_OR_END)

# what a state expected when another character came
_EXPECTED: Final = {
    O_COMMA_OR_END: "expected ',' or '}'",
    O_KEY: "expected an object key (a string)",
    O_KEY_OR_END: "expected an object key (a string)",
    O_COLON: "expected ':' after an object key",
    A_COMMA_OR_END: "expected ',' or ']'",
}

_WS = re.compile(r"[ \t\n\r]*")
_STR_RUN = re.compile(r'[^"\\]*')
_NUM_RUN = re.compile(r"[0-9eE.+\-]*")
_LIT_RUN = re.compile(r"[a-z]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+\-]?[0-9]+)?")
_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}
_ESCAPES: Final[dict[str, str]] = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_HEX = frozenset("0123456789abcdefABCDEF")


class IncrementalJsonParser(JsonTree):
    """Push parser: ``feed(chunk)`` any number of times, then ``close()``.

    ``shape`` builds snapshots (``array_shape`` instead when the root is an array);
    ``snapshots=False`` skips snapshot bookkeeping (when only events or the final value matter);
    ``events=True`` records :class:`ValueCompleted`/:class:`ItemCompleted` (drain with
    :meth:`pop_events`).
    """

    def __init__(
        self,
        shape: Shape = RAW_SHAPE,
        *,
        array_shape: Shape | None = None,
        partial_strings: bool = True,
        snapshots: bool = True,
        events: bool = False,
    ) -> None:
        super().__init__(shape, array_shape=array_shape, snapshots=snapshots, events=events)
        self._partial_strings = partial_strings
        self._lex = _L_STRUCT
        self._parts: list[str] = []
        self._str_is_key = False
        self._str_shown = False  # the string in progress appears in snapshots
        self._uni = ""
        self._high = 0  # pending high surrogate
        self._tok = ""  # number / literal characters so far
        self._pos = 0  # characters consumed before the current chunk

    def position(self) -> tuple[Path, bool]:
        """Where the text so far ends: the path of the value being read, and whether an object
        key is being read (then the path is the object's own)."""
        if not self._stack:
            return (), False
        fr = self._stack[-1]
        if fr.is_obj and (
            fr.state in (O_KEY, O_KEY_OR_END) or (self._lex == _L_STR and self._str_is_key)
        ):
            return fr.path, True
        return (*fr.path, fr.key if fr.is_obj else len(fr.value)), False

    # -- feeding -----------------------------------------------------------------------------

    def feed(self, chunk: str) -> int:
        """Consume ``chunk``; return how many characters were used (fewer than ``len(chunk)`` only
        when the root value completed inside the chunk). Raises :class:`JsonStreamError`."""
        if self._done:
            return 0
        i = 0
        n = len(chunk)
        stack = self._stack
        while i < n:
            lex = self._lex
            if lex == _L_STR:
                j = _STR_RUN.match(chunk, i).end()  # type: ignore[union-attr]
                if j > i:
                    if self._high:
                        self._flush_high()
                    self._parts.append(chunk[i:j])
                    if self._str_shown:
                        self._str_dirty = True
                        self.version += 1
                    i = j
                    if i >= n:
                        break
                if chunk[i] == '"':
                    i += 1
                    self._end_string(i)
                else:
                    self._lex = _L_ESC
                    i += 1
                continue
            if lex == _L_ESC:
                c = chunk[i]
                i += 1
                if c == "u":
                    self._lex = _L_UNI
                    self._uni = ""
                    continue
                esc = _ESCAPES.get(c)
                if esc is None:
                    raise JsonStreamError(f"invalid escape '\\{c}' in a string", self._pos + i - 1)
                if self._high:
                    self._flush_high()
                self._parts.append(esc)
                self._lex = _L_STR
                if self._str_shown:
                    self._str_dirty = True
                    self.version += 1
                continue
            if lex == _L_UNI:
                take = chunk[i : i + 4 - len(self._uni)]
                i += len(take)
                self._uni += take
                if len(self._uni) == 4:
                    self._end_unicode(i)
                continue
            if lex in (_L_NUM, _L_LIT):
                j = (_NUM_RUN if lex == _L_NUM else _LIT_RUN).match(chunk, i).end()  # type: ignore[union-attr]
                self._tok += chunk[i:j]
                i = j
                if i < n:
                    self._end_token(i)
                    if self._done:
                        return i
                continue
            # Structural characters.
            c = chunk[i]
            if c in " \t\n\r":
                i = _WS.match(chunk, i).end()  # type: ignore[union-attr]
                continue
            if not stack:
                if self._started:
                    return i
                self._start_value(c, i)
                i += 1
                if self._done:
                    return i
                continue
            fr = stack[-1]
            st = fr.state
            # the character each state expects most is handled first; a closing bracket (or an
            # error) falls through to the end
            if st in (O_COMMA_OR_END, A_COMMA_OR_END):
                if c == ",":
                    fr.state = O_KEY if fr.is_obj else A_VALUE
                    i += 1
                    continue
            elif st in (O_VALUE, A_VALUE, A_VALUE_OR_END):
                if c != "]" or st != A_VALUE_OR_END:
                    fr.state = O_COMMA_OR_END if fr.is_obj else A_COMMA_OR_END
                    self._start_value(c, i)
                    i += 1
                    continue
            elif st in (O_KEY, O_KEY_OR_END):
                if c == '"':
                    self._lex = _L_STR
                    self._str_is_key = True
                    self._str_shown = False
                    self._parts = []
                    i += 1
                    continue
            elif c == ":":  # O_COLON
                fr.state = O_VALUE
                i += 1
                continue
            if (c == "}" and st in _OBJECT_ENDS) or (c == "]" and st in _ARRAY_ENDS):
                i += 1
                self._close(i)
                if self._done:
                    return i
                continue
            raise JsonStreamError(f"{_EXPECTED[st]} but found {c!r}", self._pos + i)
        self._pos += n
        return n

    def close(self) -> Any:
        """End of input: complete a trailing root number/literal; return the root value.
        Raises :class:`JsonStreamError` if the document is incomplete."""
        if not self._done and not self._stack and self._lex in (_L_NUM, _L_LIT):
            self._end_token(0)
        if not self._done:
            what = "nothing" if not self._started else "an incomplete document"
            raise JsonStreamError(f"the stream ended with {what}", self._pos)
        return self._result

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> Any:
        """The current partial value (``MISSING`` before anything is visible). Cost: O(open
        containers), sharing every completed sub-value with earlier snapshots."""
        if self._done or not self._snapshots:
            return self._root_snap
        tail: Any = MISSING
        if self._str_shown and self._lex in (_L_STR, _L_ESC, _L_UNI):
            tail = self._current_string()
        return self._snapshot_from(tail)

    # -- internals ---------------------------------------------------------------------------

    def _current_string(self) -> str:
        parts = self._parts
        if len(parts) == 1:
            return parts[0]
        s = "".join(parts)
        self._parts = [s]
        return s

    def _start_value(self, c: str, i: int) -> None:
        """Begin a value whose first character ``c`` was at ``i`` (already counted consumed)."""
        self._started = True
        stack = self._stack
        if c == '"':
            self._lex = _L_STR
            self._str_is_key = False
            self._parts = []
            self._str_shown = self._partial_strings and (not stack or stack[-1].grows)
            if stack and self._str_shown:
                stack[-1].dirty = True
                self._str_dirty = True
                self.version += 1
            return
        if c == "{" or c == "[":
            self._push(c == "{")
            return
        if c == "-" or "0" <= c <= "9":
            self._lex = _L_NUM
            self._tok = c
            return
        if c in "tfn":
            self._lex = _L_LIT
            self._tok = c
            return
        raise JsonStreamError(f"expected a JSON value but found {c!r}", self._pos + i)

    def _end_string(self, i: int) -> None:
        if self._high:
            self._flush_high()
        s = "".join(self._parts)
        self._parts = []
        self._lex = _L_STRUCT
        if self._str_is_key:
            fr = self._stack[-1]
            fr.key = s
            fr.fname = fr.shape.field_name(s)
            fr.shows = fr.visible and fr.fname is not None
            fr.grows = fr.shows and not fr.shape.atomic(s)
            fr.state = O_COLON
            self._str_is_key = False
            return
        self._str_dirty = False
        self._complete(s, s, not self._str_shown)

    def _end_unicode(self, i: int) -> None:
        hx = self._uni
        if not all(h in _HEX for h in hx):
            raise JsonStreamError(f"invalid \\u escape '\\u{hx}'", self._pos + i - 4)
        code = int(hx, 16)
        self._lex = _L_STR
        if 0xD800 <= code <= 0xDBFF:
            if self._high:
                self._flush_high()
            self._high = code
            return
        if 0xDC00 <= code <= 0xDFFF and self._high:
            code = 0x10000 + ((self._high - 0xD800) << 10) + (code - 0xDC00)
            self._high = 0
        elif self._high:
            self._flush_high()
        self._parts.append(chr(code))
        if self._str_shown:
            self._str_dirty = True
            self.version += 1

    def _flush_high(self) -> None:
        """A high surrogate not followed by a low one: keep it as is (like ``json.loads``)."""
        self._parts.append(chr(self._high))
        self._high = 0

    def _end_token(self, i: int) -> None:
        tok = self._tok
        self._lex = _L_STRUCT
        self._tok = ""
        if tok[0] in "tfn":
            if tok not in _LITERALS:
                raise JsonStreamError(f"invalid literal {tok!r}", self._pos + i - len(tok))
            value = _LITERALS[tok]
        else:
            m = _NUMBER.fullmatch(tok)
            if m is None:
                raise JsonStreamError(f"invalid number {tok!r}", self._pos + i - len(tok))
            value = float(tok) if (m.group(1) or m.group(2)) else int(tok)
        self._complete(value, value)
