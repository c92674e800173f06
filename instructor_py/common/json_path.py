"""JSON paths as the SDK writes them in errors and repairs: ``$``, ``$.items[0].age``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["json_path"]


def json_path(parts: Iterable[Any]) -> str:
    """``("items", 0, "age")`` -> ``$.items[0].age``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out
