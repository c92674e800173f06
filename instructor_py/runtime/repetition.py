"""Early detection of degenerate repetition in a local model's output.

Small models decoding greedily fall into loops: a free string repeats a sentence (``"The user is
fine. The user is fine. ..."``), a list repeats its last item, a value repeats one character
(``"#/#/#/..."``, ``"-#####..."``). The grammar keeps such output valid, so without a check it runs
to ``max_tokens`` and the attempt is wasted in full; a retry at the same settings repeats it.

:class:`RepetitionDetector` watches the output text as it grows, at a bounded cost per character:
for every period ``p`` up to :attr:`max_period` it keeps the length of the current run of
characters equal to the character ``p`` places back (one vectorised comparison per character). A
run of ``r`` such characters means the last ``r + p`` characters are one unit of ``p`` characters
repeated. The output is degenerate when, for some ``p``, the repeated span holds at least
:attr:`min_repeats` whole units and at least :attr:`min_chars` characters. The defaults (4 units
and 48 characters) let ordinary values through (``"1000000"``, ``[0, 0, 0]``, ``"aaa"``) and stop a
loop within a few units of its start. Periods go up to 256 characters, so a list repeating a whole
object item (``{"description": ..., "quantity": ..., "unit_price": ...}``, ~90 characters) is caught
too; the check costs about 10 µs a character (well under 1% of a decode step).

:func:`json_path_at` names the field the loop is in (``$.message``, ``$.items[3].name``), for the
error fed back to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from instructor_py.common.json_path import json_path
from instructor_py.common.json_scan import closed, structure

__all__ = ["Repetition", "RepetitionDetector", "json_path_at"]


@dataclass(frozen=True, slots=True)
class Repetition:
    """A detected loop: the repeated unit, how often it repeats, and where the span starts."""

    unit: str
    repeats: int
    start: int  # character offset of the repeated span in the output text
    shape: bool = False  # the same pattern with other digits (e.g. a list counting on)

    def describe(self, text: str) -> str:
        where = json_path_at(text[: self.start + len(self.unit)])
        if self.shape:
            span = text[self.start : self.start + 3 * len(self.unit)]
            return (
                f"the answer fell into a loop in {where}: it went on and on in one pattern "
                f"({span!r}...); give only the values the text states"
            )
        unit = self.unit if len(self.unit) <= 40 else self.unit[:37] + "..."
        return (
            f"the answer fell into a loop in {where}: {unit!r} repeated {self.repeats} times; "
            "write each value once, with no repetition"
        )


class _Runs:
    """Two rows (the text, and its shape with every digit read as ``0``); for every period
    p <= max_period, the length of the current run of characters equal to the character p places
    back. One vectorised update per character for both rows."""

    __slots__ = ("_buf", "_need", "_runs")

    def __init__(self, max_period: int, min_repeats: tuple[int, int], min_chars: int) -> None:
        periods = np.arange(1, max_period + 1, dtype=np.int64)
        # a run of r characters at period p: the last r + p characters are (r + p) / p units
        self._need = np.stack(
            [np.maximum((m - 1) * periods, min_chars - periods) for m in min_repeats]
        )
        self._buf: npt.NDArray[np.int64] = np.zeros((2, max_period), dtype=np.int64)
        self._runs: npt.NDArray[np.int64] = np.zeros((2, max_period), dtype=np.int64)

    def feed(self, code: int, shape: int) -> tuple[bool, int, int] | None:
        """Add one character; ``(is_shape, period, span)`` of the shortest looping period."""
        buf, runs = self._buf, self._runs
        codes = np.array([[code], [shape]], dtype=np.int64)
        runs[:] = np.where(buf == codes, runs + 1, 0)
        buf[:, 1:] = buf[:, :-1]
        buf[:, :1] = codes
        hit = runs >= self._need
        if not hit.any():
            return None
        row = 0 if hit[0].any() else 1
        p = int(np.argmax(hit[row])) + 1
        return row == 1, p, int(runs[row, p - 1]) + p


_SHAPE = {ord(d): ord("0") for d in "0123456789"}
_NOISE = re.compile(r"[\s\"']+")


def _norm(text: str) -> str:
    return _NOISE.sub("", text).lower()


class RepetitionDetector:
    """Feed output text with :meth:`feed`; it returns a :class:`Repetition` once the text ends in a
    degenerate loop (and keeps returning it).

    Two kinds of loop are watched: the same text over and over (``"ha ha ha"``, a list repeating
    its items), and the same *shape* with other digits (``3,4,5,6,...,97,98``: a list counting
    on), which needs more units (``min_shape_repeats``) before it counts. A repeated span that the
    prompt itself contains (ignoring whitespace, quotes and case) is copied, not a loop: with
    ``prompt`` given, such spans pass until the output repeats more than the prompt does.
    """

    __slots__ = ("_found", "_prompt", "_runs", "_text")

    def __init__(
        self,
        *,
        prompt: str = "",
        max_period: int = 256,
        min_repeats: int = 4,
        min_chars: int = 48,
        min_shape_repeats: int = 8,
    ) -> None:
        if max_period < 1 or min_repeats < 2 or min_chars < 1 or min_shape_repeats < 2:
            raise ValueError(
                "max_period >= 1, min_repeats >= 2, min_shape_repeats >= 2 and min_chars >= 1"
            )
        self._runs = _Runs(max_period, (min_repeats, min_shape_repeats), min_chars)
        self._prompt = _norm(prompt)
        self._text: list[str] = []
        self._found: Repetition | None = None

    def feed(self, text: str) -> Repetition | None:
        if self._found is not None:
            return self._found
        for ch in text:
            self._text.append(ch)
            code = ord(ch)
            hit = self._runs.feed(code, _SHAPE.get(code, code))
            if hit is not None and not self._copied(hit[2]):
                shape, period, span = hit
                start = len(self._text) - span
                unit = "".join(self._text[start : start + period])
                self._found = Repetition(unit, span // period, start, shape)
                return self._found
        return None

    def _copied(self, span: int) -> bool:
        if not self._prompt:
            return False
        return _norm("".join(self._text[-span:])) in self._prompt

    @property
    def found(self) -> Repetition | None:
        return self._found

    def describe(self) -> str | None:
        """The error text for the loop found (naming its field in the text fed so far), or None."""
        found = self._found
        return None if found is None else found.describe("".join(self._text))


@dataclass(slots=True)
class _Frame:
    is_object: bool
    member: str | int | None  # the current key (objects) or index (arrays)
    expects_key: bool = False


def json_path_at(text: str) -> str:
    """The JSON path of the value that is open at the end of ``text`` (a JSON prefix): ``$`` at
    the top, ``$.key`` inside an object member, ``$.list[2]`` inside an array item."""
    stack: list[_Frame] = []
    for token in structure(text):
        ch = token.group()[0]
        top = stack[-1] if stack else None
        if ch == '"':
            if top is not None and top.is_object and top.expects_key and closed(token):
                top.member = _unescape(token.group()[1:-1])
        elif ch == "{":
            stack.append(_Frame(True, None, expects_key=True))
        elif ch == "[":
            stack.append(_Frame(False, 0))
        elif ch in "}]":
            if stack:
                stack.pop()
        elif top is not None and ch == ":" and top.is_object:
            top.expects_key = False
        elif top is not None and ch == ",":
            if top.is_object:
                top.expects_key = True
            elif isinstance(top.member, int):
                top.member += 1
    return json_path(frame.member for frame in stack if frame.member is not None)


def _unescape(raw: str) -> str:
    import json

    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw
