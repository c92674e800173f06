"""Reference-counted objects we export to C (a ``cbison_tokenizer`` or ``cbison_factory``).

The C struct lives in a :class:`Live` record kept in a registry (address -> record) while its
count is above 0, whoever holds the references: C code through ``incr_ref_count`` /
``decr_ref_count``, Python through the handle :func:`export_*` returned (one reference, given
back by ``close()``, a ``with`` block, or garbage collection). The callbacks are module-level
singletons that find their record by address, so no callback is ever freed while C may call it.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Sequence
from typing import Generic, Self, TypeVar

from instructor_py.common.errors import CbisonError

T = TypeVar("T")

LOCK = threading.RLock()


class Live(Generic[T]):
    """A struct exported to C, its reference count and what its callbacks need (``payload``)."""

    __slots__ = ("payload", "refs", "struct")

    def __init__(self, struct: ctypes.Structure, payload: T) -> None:
        self.struct = struct
        self.payload = payload
        self.refs = 1

    @property
    def address(self) -> int:
        return ctypes.addressof(self.struct)


class Registry(Generic[T]):
    """Records by struct address."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.live: dict[int, Live[T]] = {}

    def add(self, struct: ctypes.Structure, payload: T) -> Live[T]:
        rec = Live(struct, payload)
        with LOCK:
            self.live[rec.address] = rec
        return rec

    def incr(self, address: int | None) -> None:
        with LOCK:
            rec = self.live.get(address or 0)
            if rec is not None:
                rec.refs += 1

    def decr(self, address: int | None) -> None:
        with LOCK:
            rec = self.live.get(address or 0)
            if rec is not None:
                rec.refs -= 1
                if rec.refs <= 0:
                    del self.live[rec.address]  # the struct is freed with the record

    def refs(self, address: int) -> int:
        rec = self.live.get(address)
        return 0 if rec is None else rec.refs


class OneReference:
    """Holds one reference to a C object until :meth:`close` (idempotent; also at the end of a
    ``with`` block and when collected, outside interpreter shutdown). A subclass sets
    ``_closed = False`` once it holds the reference and gives it back in :meth:`_release`."""

    _closed: bool

    def _release(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Give back this object's reference (idempotent)."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and not sys.is_finalizing():
            self.close()


class Handle(OneReference, Generic[T]):
    """The Python side's reference to an exported struct (``.address`` is the C pointer)."""

    def __init__(self, registry: Registry[T], record: Live[T]) -> None:
        self._registry = registry
        self._address = record.address
        self._closed = False

    @property
    def address(self) -> int:
        if self._closed and self._registry.refs(self._address) == 0:
            raise CbisonError(f"this exported {self._registry.what} was freed (reference count 0).")
        return self._address

    @property
    def ref_count(self) -> int:
        """References held right now (this handle's included until ``close()``)."""
        return self._registry.refs(self._address)

    @property
    def alive(self) -> bool:
        return self._registry.refs(self._address) > 0

    def incr_ref_count(self) -> None:
        """Take one more reference (as C code would); give it back with :meth:`decr_ref_count`."""
        self._registry.incr(self.address)

    def decr_ref_count(self) -> None:
        self._registry.decr(self.address)

    def _release(self) -> None:
        self._registry.decr(self._address)


def write_u32s(dest: int, ids: Sequence[int]) -> None:
    """Write ``ids`` as ``uint32_t`` values at ``dest`` (the caller checked the room)."""
    if ids:
        arr = (ctypes.c_uint32 * len(ids))(*ids)
        ctypes.memmove(dest, arr, 4 * len(ids))


def write_c_string(dest: int | None, size: int, text: str) -> None:
    """Write ``text`` (UTF-8, truncated) NUL-terminated into ``size`` bytes at ``dest``."""
    if not dest or size <= 0:
        return
    data = text.encode("utf-8", "replace")[: size - 1]
    ctypes.memmove(dest, data, len(data))
    ctypes.memset(dest + len(data), 0, 1)
