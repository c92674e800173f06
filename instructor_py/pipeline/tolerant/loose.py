"""The loose tree the tolerant reader builds, and plain helpers on it.

Objects are ``dict``, arrays ``list``, strings ``str``; a number keeps the text it was written
as (:class:`Num`), an unquoted word is :class:`Bare`, JavaScript's ``undefined``/``NaN`` is
:data:`UNDEFINED`; ``true``/``false``/``null`` are Python's ``True``/``False``/``None``.
Strict JSON read by :mod:`json` (plain ``int``/``float``) is a loose tree too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["UNDEFINED", "Bare", "Loose", "Num", "number_of", "plain", "same", "show", "text_of"]


class _Undefined:
    """JavaScript's ``undefined`` / ``NaN`` / ``Infinity``: no JSON value."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()


@dataclass(frozen=True, slots=True)
class Num:
    """A number as written (``raw``) and its value."""

    raw: str
    value: int | float


@dataclass(frozen=True, slots=True)
class Bare:
    """An unquoted word or phrase in a value position (``status: active``)."""

    text: str


Loose = Any
"""dict[str, Loose] | list[Loose] | str | Num | Bare | bool | None | UNDEFINED."""

def plain(value: Any) -> Any:
    """Plain JSON data from a loose tree (no schema: numbers, bare words and literals as read)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Num):
        return value.value
    if isinstance(value, Bare):
        return value.text
    if value is UNDEFINED:
        return None
    return value


def text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Bare):
        return value.text
    return None


def number_of(value: Any) -> int | float | None:
    if isinstance(value, Num):
        return value.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values (``1`` is not ``true``, ``1`` is ``1.0``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(type(a) is type(b) and a == b) or (
        number_of(a) is not None and number_of(b) is not None and a == b
    )


def show(value: Any) -> str:
    shown = repr(plain(value))
    return shown if len(shown) <= 50 else shown[:47] + "..."
