"""One attempt's streamed text in; partial snapshots and completed sequence items out.

This is the single code path behind ``partials()``, ``sequence()`` and ``responses()`` (and the
benchmark): text deltas are fed to a :class:`~instructor_py.streaming.locator.JsonTextLocator`
(which finds the document: bare, after prose, or in a fenced block) driving an
:class:`~instructor_py.streaming.json_parser.IncrementalJsonParser` with the response model's
:class:`~instructor_py.streaming.shapes.Shape`. ``snapshot()`` returns a new snapshot only when
something visible changed (an O(1) version check), so identical consecutive snapshots are never
produced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from instructor_py.streaming.ijson_items import AVAILABLE as IJSON
from instructor_py.streaming.ijson_items import IjsonItemsParser
from instructor_py.streaming.json_parser import IncrementalJsonParser, ItemCompleted, Path
from instructor_py.streaming.locator import JsonTextLocator
from instructor_py.streaming.shapes import MISSING, Shape

if TYPE_CHECKING:
    from instructor_py.streaming.check import DocumentCheck

__all__ = ["StreamAssembler"]


class StreamAssembler:
    """Feeds text deltas of one attempt; exposes snapshots and completed items of one list.

    ``sequence_path`` is the path of the list whose items are tracked (``("items",)`` for a
    ``{"items": [...]}`` wrapper), or ``None``. When the document's root is an array (accepted
    when ``openers`` contains ``[``), its snapshots use ``array_shape`` and, if a list is tracked,
    the root array's items are the tracked ones.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        array_shape: Shape | None = None,
        partial_strings: bool = True,
        snapshots: bool = True,
        fences: bool = True,
        openers: str = "{[",
        sequence_path: Path | None = None,
        make_check: Callable[[], DocumentCheck] | None = None,
        items_only: bool = False,
        events: bool = False,
    ) -> None:
        """``items_only``: only the tracked list's items are wanted (no snapshots): its items come
        from ijson's C parser when installed (:mod:`instructor_py.streaming.ijson_items`)."""
        self._shape = shape
        self._array_shape = array_shape
        self._partial_strings = partial_strings
        self._snapshots = snapshots
        self._sequence_path = sequence_path
        self._events = events or sequence_path is not None  # every completed value (events=True)
        self._items_only = items_only and not snapshots and sequence_path is not None and IJSON
        self._locator = JsonTextLocator(
            self._new_parser, openers=openers, fences=fences, make_check=make_check
        )
        self._seen: tuple[IncrementalJsonParser | None, int] = (None, -1)
        self.text_length = 0

    def _new_parser(self) -> IncrementalJsonParser:
        if self._items_only:
            return IjsonItemsParser(self._sequence_path or ())  # type: ignore[return-value]
        return IncrementalJsonParser(
            self._shape,
            array_shape=self._array_shape,
            partial_strings=self._partial_strings,
            snapshots=self._snapshots,
            events=self._events,
        )

    @property
    def done(self) -> bool:
        """The JSON document is complete."""
        return self._locator.done

    @property
    def check(self) -> DocumentCheck | None:
        """The streaming constraint check of the current document, if any."""
        return self._locator.check

    @property
    def restarts(self) -> int:
        """How many times a candidate turned out not to be JSON (each restart starts the
        snapshots over: consumers see a void marker)."""
        return self._locator.restarts

    def feed(self, text: str) -> None:
        self.text_length += len(text)
        self._locator.feed(text)

    def snapshot(self) -> Any:
        """A new partial snapshot if anything visible changed since the last call, else
        ``MISSING``."""
        parser = self._locator.parser
        if parser is None or not self._snapshots:
            return MISSING
        seen = (parser, parser.version)
        if seen == self._seen:
            return MISSING
        self._seen = seen
        snap = parser.snapshot()
        if snap is MISSING:
            return MISSING
        return snap

    def pop_items(self) -> list[ItemCompleted]:
        """Items of the tracked list completed since the last call, in order."""
        parser = self._locator.parser
        if parser is None or self._sequence_path is None:
            return []
        path = () if parser.root_is_array else self._sequence_path
        return [e for e in parser.pop_events() if type(e) is ItemCompleted and e.path == path]

    @property
    def root_is_array(self) -> bool:
        parser = self._locator.parser
        return parser is not None and parser.root_is_array

    @property
    def parser(self) -> IncrementalJsonParser | None:
        """The current parser (a new one after each restart of the locator)."""
        return self._locator.parser

    @property
    def value(self) -> Any:
        """The complete document's raw value (``MISSING`` if not complete)."""
        parser = self._locator.parser
        if parser is None or not parser.done:
            return MISSING
        return parser.value
