"""The value tree behind :class:`~instructor_py.streaming.json_parser.IncrementalJsonParser`:
open containers (frames), completed values, structural-sharing snapshots and completion events.

The lexer (the parser) calls :meth:`JsonTree._push` when a container opens,
:meth:`JsonTree._complete` when a value finishes and :meth:`JsonTree._close` when a container
closes. Each frame keeps the raw value (a dict/list updated in place) and the snapshots of its
completed children; :meth:`JsonTree._snapshot_from` rebuilds only the open frames that changed.
``version`` is bumped on every change visible in snapshots.
"""

from __future__ import annotations

from typing import Any, Final

from instructor_py.streaming.json_events import (
    ItemCompleted,
    JsonStreamError,
    ParseEvent,
    Path,
    ValueCompleted,
)
from instructor_py.streaming.shapes import MISSING, Shape

__all__ = ["JsonTree"]

# Container states.
O_KEY_OR_END: Final = 0
O_KEY: Final = 1
O_COLON: Final = 2
O_VALUE: Final = 3
O_COMMA_OR_END: Final = 4
A_VALUE_OR_END: Final = 5
A_VALUE: Final = 6
A_COMMA_OR_END: Final = 7


class _Frame:
    """An open container."""

    __slots__ = (
        "dirty",
        "fname",
        "grows",
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
        # ...and, if it is a string, while it grows (not for Literal/Enum values)
        self.grows = self.shows and not shape.items_atomic()
        self.shape = shape
        self.path = path
        self.value: Any = {} if is_obj else []
        # Snapshots of completed children: dict by snapshot field name, or an append-only list.
        self.snaps: Any = {} if is_obj else []
        self.state = O_KEY_OR_END if is_obj else A_VALUE_OR_END
        self.key = ""  # pending object key
        self.fname: str | None = None  # its snapshot field name (None: not shown)
        self.snap: Any = MISSING
        self.dirty = True


class JsonTree:
    """Base of the parser: everything except reading characters."""

    def __init__(
        self,
        shape: Shape,
        *,
        array_shape: Shape | None,
        snapshots: bool,
        events: bool,
    ) -> None:
        self._root_shape = shape
        self._root_array_shape = array_shape or shape
        self.root_is_array = False
        self._snapshots = snapshots
        self._track = events
        self._events: list[ParseEvent] = []
        self._stack: list[_Frame] = []
        self._started = False
        self._done = False
        self._result: Any = MISSING
        self._root_snap: Any = MISSING
        self._pos = 0  # characters consumed before the current chunk
        self._str_dirty = False  # the string shown at the top changed
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

    # -- tree operations (called by the lexer) --------------------------------------------------

    def _push(self, is_obj: bool) -> None:
        """A container opens."""
        self._started = True
        stack = self._stack
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
        elif not is_obj:
            self.root_is_array = True
            shape = self._root_array_shape
            path = ()
        else:
            shape = self._root_shape
            path = ()
        stack.append(_Frame(is_obj, shape, path, visible))
        if visible:
            self.version += 1

    def _snapshot_from(self, tail: Any) -> Any:
        """Rebuild the open frames that changed, top down; ``tail`` is the string shown at the top."""
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
