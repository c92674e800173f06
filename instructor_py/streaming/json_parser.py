"""An incremental (push) JSON parser with linear total cost.

Text is pushed in chunks split anywhere (inside a string, an escape, a ``\\uXXXX`` sequence or a
surrogate pair, a number, a literal). Each character is examined a bounded number of times over
the whole stream: runs of string content, whitespace and number characters are consumed with
compiled regular expressions, structural characters by a small state machine. The parser keeps:

- the raw value being built (mutable dicts and lists updated in place; ``value`` once done);
- optionally a *snapshot* of the partial value (:meth:`snapshot`) built through a :class:`Shape`
  (plain dicts, or partial pydantic twins — see :mod:`instructor_py.streaming.partial_model`).
  Snapshots use structural sharing: completed sub-values are snapshotted once, when they close,
  and a new snapshot rebuilds only the containers on the path to what changed (the open
  containers), so its cost is O(depth x fields of the open objects), independent of the length of
  the document. ``version`` is bumped on every visible change, so "did anything change?" is O(1);
- optionally a list of events (:class:`ValueCompleted`, :class:`ItemCompleted`).

Numbers and ``true``/``false``/``null`` appear in snapshots only once complete (a half-streamed
``12`` of ``123`` is never shown); strings appear as they grow unless ``partial_strings=False``.
Leniency: raw control characters inside strings are accepted (models emit them); everything else
follows RFC 8259. Parsing stops when the root value is complete: :meth:`feed` returns how many
characters of the chunk it used, so a caller can ignore trailing text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from instructor_py.streaming.shapes import MISSING, RAW_SHAPE, Shape

__all__ = [
    "IncrementalJsonParser",
    "ItemCompleted",
    "JsonStreamError",
    "ParseEvent",
    "ValueCompleted",
]

Path = tuple[str | int, ...]


class JsonStreamError(ValueError):
    """The streamed text is not valid JSON at ``position`` (characters since the start)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position}")
        self.position = position


@dataclass(frozen=True, slots=True)
class ValueCompleted:
    """A value (scalar or container) at ``path`` is complete."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class ItemCompleted:
    """Item ``index`` of the array at ``path`` is complete (emitted after its ValueCompleted)."""

    path: Path
    index: int
    value: Any


ParseEvent = ValueCompleted | ItemCompleted

# Container states.
_O_KEY_OR_END: Final = 0
_O_KEY: Final = 1
_O_COLON: Final = 2
_O_VALUE: Final = 3
_O_COMMA_OR_END: Final = 4
_A_VALUE_OR_END: Final = 5
_A_VALUE: Final = 6
_A_COMMA_OR_END: Final = 7

# Lexer modes.
_L_STRUCT: Final = 0
_L_STR: Final = 1
_L_ESC: Final = 2
_L_UNI: Final = 3
_L_NUM: Final = 4
_L_LIT: Final = 5

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


class _Frame:
    """An open container."""

    __slots__ = (
        "dirty",
        "fname",
        "is_obj",
        "key",
        "path",
        "shape",
        "shows",
        "snap",
        "snaps",
        "state",
        "value",
        "visible",
    )

    def __init__(self, is_obj: bool, shape: Shape, path: Path, visible: bool) -> None:
        self.is_obj = is_obj
        self.visible = visible  # this container appears in snapshots
        self.shows = visible and not is_obj  # its current child appears in snapshots
        self.shape = shape
        self.path = path
        self.value: Any = {} if is_obj else []
        # Snapshots of completed children: dict by snapshot field name, or an append-only list.
        self.snaps: Any = {} if is_obj else []
        self.state = _O_KEY_OR_END if is_obj else _A_VALUE_OR_END
        self.key = ""  # pending object key
        self.fname: str | None = None  # its snapshot field name (None: not shown)
        self.snap: Any = MISSING
        self.dirty = True


class IncrementalJsonParser:
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
        self._root_shape = shape
        self._root_array_shape = array_shape or shape
        self.root_is_array = False
        self._partial_strings = partial_strings
        self._snapshots = snapshots
        self._track = events
        self._events: list[ParseEvent] = []
        self._stack: list[_Frame] = []
        self._started = False
        self._done = False
        self._result: Any = MISSING
        self._root_snap: Any = MISSING
        self._lex = _L_STRUCT
        self._parts: list[str] = []
        self._str_is_key = False
        self._str_shown = False  # the string in progress appears in snapshots
        self._uni = ""
        self._high = 0  # pending high surrogate
        self._tok = ""  # number / literal characters so far
        self._pos = 0  # characters consumed before the current chunk
        self._str_dirty = False
        self.version = 0

    # -- public state ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """The root value is complete."""
        return self._done

    @property
    def started(self) -> bool:
        """The root value has begun."""
        return self._started

    @property
    def value(self) -> Any:
        """The complete root value (raises if the document is not complete)."""
        if not self._done:
            raise JsonStreamError("the JSON document is not complete", self._pos)
        return self._result

    def pop_events(self) -> list[ParseEvent]:
        events, self._events = self._events, []
        return events

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
            if st in (_O_COMMA_OR_END, _A_COMMA_OR_END):
                if c == ",":
                    fr.state = _O_KEY if fr.is_obj else _A_VALUE
                    i += 1
                    continue
                if c == ("}" if fr.is_obj else "]"):
                    i += 1
                    self._close(i)
                    if self._done:
                        return i
                    continue
                raise JsonStreamError(
                    f"expected ',' or '{'}' if fr.is_obj else ']'}' but found {c!r}", self._pos + i
                )
            if st in (_O_VALUE, _A_VALUE, _A_VALUE_OR_END):
                if c == "]" and st == _A_VALUE_OR_END:
                    i += 1
                    self._close(i)
                    if self._done:
                        return i
                    continue
                fr.state = _O_COMMA_OR_END if fr.is_obj else _A_COMMA_OR_END
                self._start_value(c, i)
                i += 1
                continue
            if st in (_O_KEY, _O_KEY_OR_END):
                if c == '"':
                    self._lex = _L_STR
                    self._str_is_key = True
                    self._str_shown = False
                    self._parts = []
                    i += 1
                    continue
                if c == "}" and st == _O_KEY_OR_END:
                    i += 1
                    self._close(i)
                    if self._done:
                        return i
                    continue
                raise JsonStreamError(
                    f"expected an object key (a string) but found {c!r}", self._pos + i
                )
            # _O_COLON
            if c != ":":
                raise JsonStreamError(
                    f"expected ':' after an object key but found {c!r}", self._pos + i
                )
            fr.state = _O_VALUE
            i += 1
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
        stack = self._stack
        if not stack:
            return tail if tail is not MISSING else self._root_snap
        rebuild = self._str_dirty
        self._str_dirty = False
        for fr in reversed(stack):
            if rebuild or fr.dirty:
                if fr.is_obj:
                    fr.snap = fr.shape.build_object(
                        fr.snaps, fr.fname if tail is not MISSING else None, tail
                    )
                else:
                    fr.snap = fr.shape.build_array(fr.snaps, tail)
                fr.dirty = False
                rebuild = True
            tail = fr.snap
        return tail

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
            self._str_shown = self._partial_strings and (not stack or stack[-1].shows)
            if stack and self._str_shown:
                stack[-1].dirty = True
                self._str_dirty = True
                self.version += 1
            return
        if c == "{" or c == "[":
            visible = True
            if stack:
                parent = stack[-1]
                parent.dirty = True
                visible = parent.shows
                if parent.is_obj:
                    shape = parent.shape.child(parent.key)
                    path = (*parent.path, parent.key) if self._track else ()
                else:
                    shape = parent.shape.item()
                    path = (*parent.path, len(parent.value)) if self._track else ()
            elif c == "[":
                self.root_is_array = True
                shape = self._root_array_shape
                path = ()
            else:
                shape = self._root_shape
                path = ()
            stack.append(_Frame(c == "{", shape, path, visible))
            if visible:
                self.version += 1
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
            fr.state = _O_COLON
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

    def _complete(self, value: Any, snap: Any, changes_view: bool = True) -> None:
        """A value finished inside the top container (or at the root). ``changes_view`` is False
        when the value was already shown while open (a closing quote or bracket adds nothing)."""
        stack = self._stack
        if not stack:
            if changes_view:
                self.version += 1
            self._done = True
            self._result = value
            self._root_snap = snap
            if self._track:
                self._events.append(ValueCompleted((), value))
            return
        fr = stack[-1]
        fr.dirty = True
        if changes_view and fr.shows:
            self.version += 1
        if fr.is_obj:
            fr.value[fr.key] = value
            if self._snapshots and fr.fname is not None:
                fr.snaps[fr.fname] = snap
            if self._track:
                self._events.append(ValueCompleted((*fr.path, fr.key), value))
        else:
            index = len(fr.value)
            fr.value.append(value)
            if self._snapshots:
                fr.snaps.append(snap)
            if self._track:
                path = fr.path
                self._events.append(ValueCompleted((*path, index), value))
                self._events.append(ItemCompleted(path, index, value))

    def _close(self, i: int) -> None:
        fr = self._stack.pop()
        snap: Any = MISSING
        if self._snapshots:
            if fr.is_obj:
                snap = fr.shape.build_object(fr.snaps, None, MISSING)
            else:
                snap = fr.shape.build_array(fr.snaps, MISSING)
        self._complete(fr.value, snap, not fr.visible)
