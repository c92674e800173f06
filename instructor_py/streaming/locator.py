"""Find the JSON document inside streamed model text, as it arrives, and feed only it to a parser.

Handles: bare JSON (tool-call arguments, JSON modes), JSON after leading prose ("Sure! Here it
is: {...}"), and a fenced block (MD_JSON: prose, then ```` ```json ````, the document, ```` ``` ````).
The earliest candidate wins: a fence opening (its content starts after the fence's line) or an
opening bracket. If a candidate turns out not to be JSON (prose like ``use {name}``), the locator
restarts at the next candidate after it, re-reading the buffered text; at most ``max_restarts``
times, after which it gives up (no more partials for this stream — the final answer is still
extracted from the full text by the response pipeline). Text after the document is ignored.

Reasoning blocks (``<think>...</think>``, ``<thinking>``, ``<reasoning>``) before the document are
skipped, as the response pipeline's extraction drops them: braces inside a model's reasoning are
never taken for the answer.

With ``make_check`` (streaming constraint checking, :mod:`instructor_py.streaming.check`), each
candidate object document's text is also fed to a fresh check; :attr:`rejection` is set once the
document can no longer satisfy the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from instructor_py.streaming.json_parser import IncrementalJsonParser, JsonStreamError

if TYPE_CHECKING:
    from instructor_py.pipeline.failures import StageFailure
    from instructor_py.streaming.check import DocumentCheck

__all__ = ["JsonTextLocator"]

_FENCE_INFO_MAX = 64  # a fence "info string" longer than this is not a fence opening
_REASONING_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_REASONING_TAGS = ("<think>", "<thinking>", "<reasoning>")


class JsonTextLocator:
    """Streams text into parsers created by ``make_parser``; ``parser`` is the current one."""

    def __init__(
        self,
        make_parser: Callable[[], IncrementalJsonParser],
        *,
        openers: str = "{[",
        fences: bool = True,
        max_restarts: int = 16,
        make_check: Callable[[], DocumentCheck] | None = None,
    ) -> None:
        self._make = make_parser
        self._make_check = make_check
        self.check: DocumentCheck | None = None
        self._check_open = make_check is not None  # the current document's check is undecided
        self._fences = fences
        pattern = "[" + re.escape(openers) + "]"
        if fences:
            pattern = "```|" + pattern
        self._candidate = re.compile(pattern)
        self._max_restarts = max_restarts
        self.parser: IncrementalJsonParser | None = None
        self.restarts = 0
        self.gave_up = False
        self.error: JsonStreamError | None = None
        self._search = ""  # unsearched text (while no parser runs)
        self._closing: str | None = None  # inside a reasoning block: its closing tag
        self._fed: list[str] = []  # text fed to the current parser (for a restart)

    @property
    def done(self) -> bool:
        """The document is complete (later text is ignored)."""
        return self.parser is not None and self.parser.done

    @property
    def rejection(self) -> StageFailure | None:
        """Why the current document can no longer be valid (streaming constraint checking)."""
        return self.check.failure if self.check is not None else None

    def feed(self, text: str) -> None:
        if self.gave_up or self.done or not text:
            return
        if self.parser is not None:
            self._feed_parser(text)
        else:
            self._search += text
            self._scan()

    def _scan(self) -> None:
        """Look for a candidate in ``_search``; start a parser on it if found."""
        while self.parser is None and not self.gave_up:
            s = self._search
            if self._closing is not None:
                end = s.lower().find(self._closing)
                if end < 0:  # keep what may be the start of the closing tag
                    self._search = s[max(0, len(s) - len(self._closing) + 1) :]
                    return
                s = self._search = s[end + len(self._closing) :]
                self._closing = None
            m = self._candidate.search(s)
            reasoning = _REASONING_OPEN.search(s, 0, m.start() if m is not None else len(s))
            if reasoning is not None:
                self._closing = f"</{reasoning.group(1).lower()}>"
                self._search = s[reasoning.end() :]
                continue
            if m is None:
                # Keep a possible partial fence ("`" or "``") or reasoning tag for the next chunk.
                keep = min(len(s) - len(s.rstrip("`")), 2) if self._fences else 0
                self._search = s[len(s) - max(keep, _partial_tag(s)) :] if s else ""
                return
            start = m.start()
            if m.group() == "```":
                newline = s.find("\n", m.end())
                if newline < 0:
                    if len(s) - m.end() > _FENCE_INFO_MAX:
                        self._search = s[m.end() :]
                        continue
                    self._search = s[start:]
                    return
                if newline - m.end() > _FENCE_INFO_MAX or "`" in s[m.end() : newline]:
                    self._search = s[m.end() :]
                    continue
                content = s[newline + 1 :]
            else:
                content = s[start:]
            self._search = ""
            self.parser = self._make()
            self._fed = []
            self._feed_parser(content)

    def _feed_parser(self, text: str) -> None:
        parser = self.parser
        assert parser is not None
        self._fed.append(text)
        try:
            used = parser.feed(text)
        except JsonStreamError as exc:
            self.error = exc
            self._restart()
            return
        if self._check_open:
            self._open_check(text)
        if self.check is not None:
            self.check.feed(text[:used], done=parser.done)

    def _open_check(self, text: str) -> None:
        """At the document's first character: object documents are checked (a bare array, the
        sequence form a wrapper's ``prepare`` accepts, is not)."""
        first = text.lstrip()[:1]
        if first:
            self._check_open = False
            if first == "{" and self._make_check is not None:
                self.check = self._make_check()

    def _restart(self) -> None:
        self.restarts += 1
        text = "".join(self._fed)
        self.parser = None
        self._fed = []
        self.check = None
        self._check_open = self._make_check is not None
        if self.restarts > self._max_restarts:
            self.gave_up = True
            return
        # Skip the first non-blank character (the failed candidate's opener) and search again.
        stripped = text.lstrip()
        self._search = stripped[1:]
        self._scan()


def _partial_tag(text: str) -> int:
    """The length of a reasoning opening tag's beginning at the end of ``text`` (0 if none)."""
    start = text.rfind("<", max(0, len(text) - len(_REASONING_TAGS[-1])))
    if start < 0:
        return 0
    tail = text[start:].lower()
    return len(tail) if any(tag.startswith(tail) for tag in _REASONING_TAGS) else 0
