"""The tolerant rules on a prefix of an answer (streaming): the value the text ends in is shown
only when no more text can change its reading.

A prefix that ends inside a value (``"ids": [1, 2, "3``, ``"age": 12``, ``"status": act``) or just
after one that the next characters could still extend (``"n": 12,`` of ``12,111``) has one *open*
value: the last one read. The reader marks it (``Reader.open_value``); :func:`mark_open` wraps it
as :class:`Open`, and :class:`PrefixCoercer` never coerces it: a quoted string where the schema
takes a string is shown as it grows (as strict streaming shows strings), anything else is left
out until the text after it settles it (a ``"3`` that could become ``"34"``, a number still being
written, an enum prefix). Everything before it is read with the same rules as a whole answer.
"""

from __future__ import annotations

import re
from typing import Any

from instructor_py.pipeline.tolerant.coerce import Coercer, Miss
from instructor_py.pipeline.tolerant.schema import SchemaView

__all__ = ["Open", "PrefixCoercer", "mark_open", "without_open"]


class Open:
    """The value a prefix ends in (see the module docstring)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Open({self.value!r})"


def mark_open(value: Any) -> Any:
    """``value`` with its last leaf (the one the text ends in) wrapped as :class:`Open`; the
    containers on the way to it are copied, the rest is shared."""
    if isinstance(value, dict):
        if not value:
            return value
        out = dict(value)
        key = next(reversed(out))
        out[key] = mark_open(out[key])
        return out
    if isinstance(value, list):
        if not value:
            return value
        return [*value[:-1], mark_open(value[-1])]
    return value if isinstance(value, Open) else Open(value)


class PrefixCoercer(Coercer):
    """The coercer of a prefix: missing required fields are allowed, and the :class:`Open`
    value is shown only as a growing string where the schema takes a string."""

    def __init__(self, view: SchemaView, budget: int) -> None:
        super().__init__(view, budget, partial=True)

    def coerce(self, value: Any, node: Any, path: list[str | int]) -> Any:
        if isinstance(value, Open):
            if isinstance(value.value, str) and self._takes_text(node, 0):
                return _settled_text(value.value)
            raise Miss(path, "the value is not complete yet")
        return super().coerce(value, node, path)

    def _takes_text(self, node: Any, depth: int) -> bool:
        """Whether ``node`` takes any string as it is (no enum, no coercion)."""
        info = self.view.info(node)
        if info.kind == "any":
            return True
        if info.kind == "typed":
            return info.types is None or "string" in info.types
        if info.kind == "union" and depth < 8:
            return any(self._takes_text(b, depth + 1) for b in info.branches)
        return False


_QUOTE_THEN_BREAK = re.compile(r"""["'`\u201d\u2019][ \t]*(?:[,\r\n]|/[/*]|#)""")


def _settled_text(text: str) -> str:
    """An open string up to a quote that the text after it may yet prove to be its end
    (``'Ann', ag`` before the key's colon arrives): a shorter prefix of the value either way."""
    match = _QUOTE_THEN_BREAK.search(text)
    return text if match is None else text[: match.start()]


def without_open(value: Any) -> Any:
    """``value`` with no :class:`Open` left in it: where the schema says nothing (an unknown key,
    ``{}``), the coercer takes a value as it is, open leaf included; an open string there shows
    as it grows, anything else open is left out (a list item dropped, a key omitted)."""
    if isinstance(value, Open):
        if isinstance(value.value, str):
            return _settled_text(value.value)
        raise Miss([], "the value is not complete yet")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, Open) and not isinstance(item.value, str):
                continue
            out[key] = without_open(item)
        return out
    if isinstance(value, list):
        return [
            without_open(item)
            for item in value
            if not (isinstance(item, Open) and not isinstance(item.value, str))
        ]
    return value
