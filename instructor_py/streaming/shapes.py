"""Shapes: how the incremental parser turns open and completed containers into snapshot values.

A :class:`Shape` describes one position in the expected document. The parser asks it for the
shape of a child (``child(key)`` for objects, ``item()`` for arrays), for the snapshot field name
of a JSON key, and to build a snapshot from the snapshots of the children (completed ones, plus
the one still streaming as ``tail``). Builders must not copy their inputs lazily: the ``snaps``
dict/list passed in keeps changing after the call, so a builder copies what it keeps — except
that an array builder may keep the append-only list and its current length (see
:class:`PartialList`), which is what makes snapshots O(1) per open array.

:data:`RAW_SHAPE` builds plain dicts and lists (lists are copied, O(length) per snapshot of an
open array; the pydantic twins in :mod:`instructor_py.streaming.partial_model` share instead).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar, overload

__all__ = ["MISSING", "RAW_SHAPE", "PartialList", "RawShape", "Shape"]

T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final[Any] = _Missing()
"""Sentinel: no value (yet)."""


class Shape:
    """Base shape: plain JSON values (see :data:`RAW_SHAPE`)."""

    __slots__ = ()

    def child(self, key: str) -> Shape:
        return self

    def item(self) -> Shape:
        return self

    def field_name(self, key: str) -> str | None:
        """The snapshot key for JSON ``key`` (``None``: not shown in snapshots)."""
        return key

    def atomic(self, key: str) -> bool:
        """Whether a string under ``key`` is shown only once complete (a ``Literal``/``Enum``
        value: a prefix such as ``"act"`` of ``"active"`` would be misleading)."""
        return False

    def items_atomic(self) -> bool:
        """Like :meth:`atomic`, for the items of an array."""
        return False

    def build_object(self, snaps: dict[str, Any], tail_key: str | None, tail: Any) -> Any:
        d = dict(snaps)
        if tail_key is not None:
            d[tail_key] = tail
        return d

    def build_array(self, snaps: list[Any], tail: Any) -> Any:
        if tail is MISSING:
            return snaps[:]
        out = snaps[:]
        out.append(tail)
        return out


class RawShape(Shape):
    __slots__ = ()


RAW_SHAPE: Final[Shape] = RawShape()


class PartialList(Sequence[T]):
    """A read-only list view used in partial snapshots: the first ``n`` items of an append-only
    list shared with later snapshots, plus the item still streaming (``tail``), if any.

    It compares equal to any sequence with the same items, iterates, indexes and slices like a
    list; ``list(view)`` copies it. Creating one is O(1), which keeps streaming linear.
    """

    __slots__ = ("_items", "_n", "_tail")

    def __init__(self, items: list[T], n: int, tail: Any = MISSING) -> None:
        self._items = items
        self._n = n
        self._tail = tail

    def __len__(self) -> int:
        return self._n + (self._tail is not MISSING)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("PartialList index out of range")
        if index == self._n:
            return self._tail  # type: ignore[no-any-return]
        return self._items[index]

    def __iter__(self) -> Iterator[T]:
        items = self._items
        for k in range(self._n):
            yield items[k]
        if self._tail is not MISSING:
            yield self._tail

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PartialList):
            if len(self) != len(other):
                return False
            if self._items is other._items and self._n == other._n:
                return bool(self._tail == other._tail)
            return all(a == b for a, b in zip(self, other, strict=True))
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def to_list(self) -> list[T]:
        """A plain list copy."""
        return list(self)
