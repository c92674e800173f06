"""Where the tolerant reader is in the text: whitespace and comments skipped, each repair
recorded once per kind and place, and the first reason the text cannot be the answer."""

from __future__ import annotations

from typing import Final

from instructor_py.pipeline.failures import json_path
from instructor_py.pipeline.tolerant.lookahead import WS
from instructor_py.pipeline.tolerant.loose import Loose
from instructor_py.pipeline.tolerant.records import Repair

__all__ = ["SKIPPABLE", "Cursor"]

SKIPPABLE: Final = frozenset(" \t\r\n\f\v\u00a0\ufeff/#")
"""The characters that can start whitespace or a comment."""


class Cursor:
    """A position in ``text[start:end]`` and what reading has found so far (the state of a
    :class:`~.syntax.Reader`)."""

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end
        self.repairs: list[Repair] = []
        self.truncated = False
        self.open_string = False
        self.open_value = False  # the text ends in a value more text could change (a prefix)
        self.broken: str | None = None
        self._path: list[str | int] = []
        self._seen: set[tuple[tuple[str | int, ...], str]] = set()  # (place, kind) recorded
        self._places: dict[tuple[str | int, ...], str] = {}  # place -> its JSON path, once
        self.value: Loose = None

    # -- helpers ---------------------------------------------------------------------------

    def _repair(self, kind: str, detail: str, member: bool = False) -> None:
        """Record a repair once per kind and place; ``member``: at the container of the value
        being read (one ``single_quotes`` per object, not one per string)."""
        place = tuple(self._path[:-1] if member and self._path else self._path)
        key = (place, kind)
        if key not in self._seen:
            self._seen.add(key)
            self.repairs.append(Repair(self._place_text(place), kind, detail))

    def _place_text(self, place: tuple[str | int, ...]) -> str:
        """``json_path(place)``, built on its parent's when that is known (deep nesting)."""
        text = self._places.get(place)
        if text is None:
            parent = self._places.get(place[:-1]) if place else None
            text = json_path(place) if parent is None else parent + json_path(place[-1:])[1:]
            self._places[place] = text
        return text

    def _break(self, reason: str) -> None:
        if self.broken is None:
            self.broken = f"{json_path(self._path)}: {reason}"

    def skip(self) -> None:
        """Skip whitespace and comments."""
        text, end = self.text, self.end
        while True:
            if self.pos >= end:
                return
            ch = text[self.pos]
            if ch not in SKIPPABLE:
                return
            self.pos = WS.match(text, self.pos, end).end()  # type: ignore[union-attr]
            if self.pos >= end:
                return
            ch = text[self.pos]
            if ch == "/" and text.startswith("//", self.pos):
                self._line_comment("//")
            elif ch == "/" and text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2, end)
                self.pos = end if close < 0 else close + 2
                self._repair("comment", "removed a /* */ comment")
            elif ch == "#" and (self.pos + 1 >= end or text[self.pos + 1] in " #\t!"):
                self._line_comment("#")
            else:
                return

    def _line_comment(self, mark: str) -> None:
        newline = self.text.find("\n", self.pos, self.end)
        self.pos = self.end if newline < 0 else newline + 1
        self._repair("comment", f"removed a {mark} comment")

    def at_end(self) -> bool:
        return self.pos >= self.end

    def _note(self, noted: set[str], kind: str, detail: str) -> None:
        """:meth:`_repair` at the current container (``noted``: the kinds it already has)."""
        if kind not in noted:
            noted.add(kind)
            place = tuple(self._path)
            if (place, kind) not in self._seen:
                self._seen.add((place, kind))
                text = self._places.get(place) or self._place_text(place)
                self.repairs.append(Repair(text, kind, detail))

    def _comma(self) -> bool:
        """Skip to a comma after a value and past it; whether there was one."""
        self.skip()
        if self.pos < self.end and self.text[self.pos] == ",":
            self.pos += 1
            return True
        return False
