"""Streaming partials with the tolerant parser's rules, as far as a prefix allows.

:class:`TolerantAssembler` has the interface of
:class:`~instructor_py.streaming.assembler.StreamAssembler` and wraps one. While the answer is
strict JSON that fits the schema exactly, everything goes through the strict incremental parser
(the fast path: the only extra work is a look at each completed value, see
:mod:`instructor_py.streaming.coercible`). The attempt switches to *tolerant reading* for good
when the strict path fails (a syntax error: unquoted keys, single quotes, comments, ``12,111``...,
or prose that the locator gave up on) or when a completed value needs a coercion (an enum in
another case, a renamed key). From then on, the text so far is read with
:func:`~instructor_py.pipeline.tolerant.parse_partial` (candidates, syntax repairs, coercions; the
value the text ends in is not coerced before more text settles it) and snapshots are built from
that reading with the response model's shapes.

Cost: the text is read again only when it has grown by :data:`MIN_STEP` characters and by
:data:`GROWTH` of what was read last time, so the total work is linear: a document of n
characters is read about ``1/GROWTH + 1`` times n characters in all, whatever the chunking.

Snapshots stay monotone: a reading that would withdraw a field (or list item) already shown is
not published (it waits for more text); :meth:`finish` reads the whole answer and its reading is
the last snapshot, so it equals the final value. Items of the tracked list (``sequence()``) are
released once the next item has begun (an item followed by another is complete); the last ones
come from the final value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from instructor_py.pipeline.tolerant import ParseResult, parse_partial, parse_tolerant
from instructor_py.streaming.assembler import StreamAssembler
from instructor_py.streaming.coercible import CoercionWatch
from instructor_py.streaming.json_parser import IncrementalJsonParser, ItemCompleted, Path
from instructor_py.streaming.partial_model import PartialModel
from instructor_py.streaming.shapes import MISSING, PartialList, Shape

if TYPE_CHECKING:
    from instructor_py.streaming.check import DocumentCheck

__all__ = ["GROWTH", "MIN_STEP", "TolerantAssembler", "build_snapshot", "extends", "plain_view"]

_BLANK_OR_COMMA: Final = frozenset(", \t\r\n")
_GROUPING = re.compile(r"\d[ \t]*,[ \t\r\n]*\Z")

MIN_STEP: Final = 8
"""Characters the text must grow by before it is read again."""
GROWTH: Final = 0.125
"""...and the share of the text read last time it must grow by (keeps the total work linear)."""


class TolerantAssembler:
    """A :class:`StreamAssembler` that falls back to tolerant reading (module docstring)."""

    def __init__(
        self,
        strict: StreamAssembler,
        schema: Mapping[str, Any],
        *,
        shape: Shape,
        array_shape: Shape | None = None,
        sequence_path: Path | None = None,
        snapshots: bool = True,
    ) -> None:
        self._strict = strict
        self._schema = schema
        self._shape = shape
        self._array_shape = array_shape
        self._sequence_path = sequence_path
        self._snapshots = snapshots
        self._watch: CoercionWatch | None = CoercionWatch(schema) if snapshots else None
        self._chunks: list[str] = []
        self.text_length = 0
        self.tolerant = False  # the attempt reads tolerantly from now on
        self._pending = False  # a strict candidate failed: tolerant reading may take over
        self._restarts = 0
        self.reads = 0  # tolerant readings of the text (for the benchmark and tests)
        self.read_chars = 0
        self._read_at = 0
        self._reading: Any = MISSING  # the last reading published (plain JSON data)
        self._changed = False
        self._snap: Any = MISSING  # the snapshot of ``_reading``
        self._shown: Any = MISSING  # the last snapshot shown, as plain data (field names)
        self._last_strict: Any = MISSING  # the last snapshot of the strict path
        self._items: list[ItemCompleted] = []
        self._emitted = 0  # items of the tracked list released so far

    # -- the StreamAssembler interface ---------------------------------------------------------

    @property
    def done(self) -> bool:
        return False if self.tolerant else self._strict.done

    @property
    def check(self) -> DocumentCheck | None:
        return None if self.tolerant else self._strict.check

    @property
    def restarts(self) -> int:
        """Always 0: a failed strict reading switches to tolerant reading instead."""
        return 0

    @property
    def root_is_array(self) -> bool:
        if self.tolerant:
            return isinstance(self._reading, list)
        return self._strict.root_is_array

    @property
    def parser(self) -> IncrementalJsonParser | None:
        return None if self.tolerant else self._strict.parser

    @property
    def value(self) -> Any:
        return MISSING if self.tolerant else self._strict.value

    def feed(self, text: str) -> None:
        self._chunks.append(text)
        self.text_length += len(text)
        if not self.tolerant:
            self._feed_strict(text)
            if not self.tolerant:
                if not self._pending:
                    return  # strict JSON so far
                parser = self._strict.parser
                if parser is not None and not parser.done:
                    return  # a new strict candidate is being read: trusted while it lasts
        grown = self.text_length - self._read_at
        if grown >= MIN_STEP and grown >= self._read_at * GROWTH:
            self._read()

    def snapshot(self) -> Any:
        if not self.tolerant:
            last = self._chunks[-1] if self._chunks else ""
            if last[-1:] in _BLANK_OR_COMMA and _GROUPING.search("".join(self._chunks[-16:])):
                return MISSING  # "12," may be "12,111": shown once the next character comes
            snap = self._strict.snapshot()
            if snap is not MISSING:
                self._last_strict = snap
            return snap
        if not self._changed:
            return MISSING
        self._changed = False
        return self._snap

    def pop_items(self) -> list[ItemCompleted]:
        items, self._items = self._items, []
        return items

    # -- the end of the answer -----------------------------------------------------------------

    def finish(self) -> Any:
        """The snapshot of the whole answer read tolerantly, if tolerant reading was in use and
        it differs from the last one published (else ``MISSING``)."""
        if not self.tolerant:
            return MISSING
        text = "".join(self._chunks)
        result = parse_tolerant(text, self._schema)
        if not isinstance(result, ParseResult) or result.value == self._reading:
            return MISSING
        self._reading = result.value
        return build_snapshot(result.value, self._shape, self._array_shape)

    # -- internals ------------------------------------------------------------------------------

    def _feed_strict(self, text: str) -> None:
        strict = self._strict
        strict.feed(text)
        if strict.restarts != self._restarts:  # a candidate was not strict JSON
            self._restarts = strict.restarts
            self._pending = True
            if strict.parser is None:
                self._read()
            return
        parser = strict.parser
        if parser is None:
            return
        events = parser.pop_events()
        if self._watch is not None and self._watch.needs_coercion(events):
            self._switch()
            return
        path = () if parser.root_is_array else self._sequence_path
        for event in events:
            if type(event) is ItemCompleted and event.path == path:
                self._items.append(event)
                self._emitted += 1

    def _switch(self) -> None:
        self.tolerant = True
        self._read()

    def _read(self) -> None:
        """Read the text so far. While only pending (a strict candidate failed: messy JSON, or
        prose such as ``use {name}`` before the answer), switch to tolerant reading once the
        reading holds something other than what a later strict document read (a strict reading
        of a nested object of messy JSON is not the answer)."""
        text = "".join(self._chunks)
        self._chunks = [text]
        self._read_at = len(text)
        self.reads += 1
        self.read_chars += len(text)
        result = parse_partial(text, self._schema)
        if not isinstance(result, ParseResult):
            return
        value = result.value
        if not isinstance(value, dict | list) or value == self._reading:
            return
        if not self.tolerant:
            strict = self._strict.value
            if not value or (strict is not MISSING and value == strict):
                return  # nothing read yet, or the strict document was the answer
            self.tolerant = True
        self._release_items(value)
        if not self._snapshots:
            self._reading = value
            return
        snap = build_snapshot(value, self._shape, self._array_shape)
        view = plain_view(snap)
        if self._shown is MISSING:  # what the strict path showed before the switch
            self._shown = plain_view(self._last_strict)
        if not extends(view, self._shown):
            return  # it would withdraw something shown: wait for more text
        self._reading = value
        self._shown = view
        self._snap = snap
        self._changed = True

    def _release_items(self, value: Any) -> None:
        if self._sequence_path is None:
            return
        path: Path = ()
        items: Any = value
        if isinstance(value, dict):
            path = self._sequence_path
            for key in path:
                items = items.get(key) if isinstance(items, dict) else None
        if not isinstance(items, list):
            return
        while self._emitted < len(items) - 1:  # an item followed by another is complete
            index = self._emitted
            self._items.append(ItemCompleted(path, index, items[index]))
            self._emitted += 1


def extends(new: Any, old: Any) -> bool:
    """Whether reading ``new`` keeps every field and list item ``old`` showed (values may grow
    or settle: a string shown while streaming may be read as a number once complete)."""
    if old is MISSING:
        return True
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and extends(new[k], v) for k, v in old.items())
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) >= len(old)
            and all(extends(n, o) for n, o in zip(new, old, strict=False))
        )
    return True


def plain_view(snapshot: Any) -> Any:
    """A snapshot as plain data: the fields set of a partial twin, lists, dicts, values."""
    if snapshot is MISSING:
        return MISSING
    if isinstance(snapshot, PartialModel):
        return {k: plain_view(getattr(snapshot, k)) for k in snapshot.__pydantic_fields_set__}
    if isinstance(snapshot, dict):
        return {k: plain_view(v) for k, v in snapshot.items()}
    if isinstance(snapshot, PartialList | list):
        return [plain_view(v) for v in snapshot]
    return snapshot


def build_snapshot(value: Any, shape: Shape, array_shape: Shape | None) -> Any:
    """The snapshot of a reading (plain JSON data), built with the response model's shapes."""
    if isinstance(value, list):
        if array_shape is None:
            return MISSING
        return _build(value, array_shape)
    return _build(value, shape)


def _build(value: Any, shape: Shape) -> Any:
    if isinstance(value, dict):
        snaps: dict[str, Any] = {}
        for key, item in value.items():
            name = shape.field_name(key)
            if name is not None:
                snaps[name] = _build(item, shape.child(key))
        return shape.build_object(snaps, None, MISSING)
    if isinstance(value, list):
        item_shape = shape.item()
        return shape.build_array([_build(v, item_shape) for v in value], MISSING)
    return value
