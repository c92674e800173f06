"""The items of one streamed list through ijson's C backend (yajl2_c), for ``sequence()`` alone.

When a stream's first view is ``sequence()`` no partial snapshots are needed, only each item of
the tracked list as soon as it is complete. For that job ijson's C parser is several times faster
than our pure-Python incremental parser (``benchmarks/ijson_parse.py``: 6-12x on 0.1-1 MB answers
in 6- and 64-byte deltas), so the assembler uses :class:`IjsonItemsParser` in its place: the same
duck-typed interface (``feed``, ``done``, ``root_is_array``, ``pop_events``), item events only.
The locator in front of it is unchanged (prose, fences, reasoning blocks, restarts on a candidate
that is not JSON), and the final value still comes from the response pipeline (``json``: faster
than ijson for a complete text). Without ijson's C backend the incremental parser is used.
"""

from __future__ import annotations

from typing import Any

from instructor_py.streaming.json_events import ItemCompleted, JsonStreamError, ParseEvent, Path
from instructor_py.streaming.shapes import MISSING

try:
    import ijson
    from ijson.common import JSONError, ObjectBuilder

    AVAILABLE = ijson.backend == "yajl2_c"
except ImportError:  # pragma: no cover - an optional speed-up
    AVAILABLE = False

__all__ = ["AVAILABLE", "IjsonItemsParser"]

_START = frozenset({"start_map", "start_array"})
_END = frozenset({"end_map", "end_array"})


class IjsonItemsParser:
    """Push parser reporting :class:`ItemCompleted` events of the list at ``list_path`` (or of
    the root array)."""

    __slots__ = (
        "_builder",
        "_coro",
        "_count",
        "_depth",
        "_done",
        "_events",
        "_item_depth",
        "_object_prefix",
        "_path",
        "_pos",
        "_prefix",
        "_root_is_array",
        "_sink",
        "version",
    )

    def __init__(self, list_path: Path) -> None:
        self._sink: Any = ijson.sendable_list()
        self._coro: Any = ijson.parse_coro(self._sink, use_float=True)
        self._object_prefix = ".".join(str(p) for p in (*list_path, "item"))
        self._prefix = ""  # known once the root opens
        self._path: Path = list_path
        self._depth = 0
        self._item_depth = 0
        self._builder: Any = None
        self._count = 0
        self._events: list[ParseEvent] = []
        self._done = False
        self._root_is_array = False
        self._pos = 0
        self.version = 0  # no snapshots

    @property
    def done(self) -> bool:
        return self._done

    @property
    def root_is_array(self) -> bool:
        return self._root_is_array

    @property
    def value(self) -> Any:
        return MISSING  # the final value comes from the response pipeline

    def snapshot(self) -> Any:
        return MISSING

    def pop_events(self) -> list[ParseEvent]:
        events, self._events = self._events, []
        return events

    def feed(self, text: str) -> int:
        """Consume ``text``; returns ``len(text)`` (trailing text after the root is ignored)."""
        if self._done:
            return 0
        try:
            self._coro.send(text.encode("utf-8", "surrogatepass"))
        except JSONError as exc:
            self._drain()
            if not self._done:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise JsonStreamError(reason, self._pos) from None
            return len(text)
        self._drain()
        self._pos += len(text)
        return len(text)

    def _drain(self) -> None:
        for prefix, event, value in self._sink:
            builder = self._builder
            if builder is not None:
                builder.event(event, value)
                if event in _START:
                    self._depth += 1
                elif event in _END:
                    self._depth -= 1
                    if self._depth < self._item_depth:
                        self._item(builder.value)
                        self._builder = None
                continue
            if event in _START:
                self._depth += 1
                if self._depth == 1:
                    self._root_is_array = event == "start_array"
                    self._prefix = "item" if self._root_is_array else self._object_prefix
                elif prefix == self._prefix:
                    self._item_depth = self._depth
                    self._builder = ObjectBuilder()
                    self._builder.event(event, value)
            elif event in _END:
                self._depth -= 1
                if self._depth == 0:
                    self._done = True
            elif prefix == self._prefix and event != "map_key":
                self._item(value)
        del self._sink[:]

    def _item(self, value: Any) -> None:
        path: Path = () if self._root_is_array else self._path
        self._events.append(ItemCompleted(path, self._count, value))
        self._count += 1
