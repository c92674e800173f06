"""Streaming for template answers (``with_template``): snapshots are the template's variables
found so far."""

from __future__ import annotations

import json
from typing import Any

from instructor_py.guidance import GuidanceTemplate
from instructor_py.streaming.shapes import MISSING, Shape

__all__ = ["TemplateAssembler"]


class TemplateAssembler:
    """Streaming for template answers: snapshots are the variables found so far (built with the
    response model's snapshot shape: a dict, or a partial model)."""

    restarts = 0
    root_is_array = False
    check = None  # a template answer is not checked while it streams (its pattern is at the end)

    def __init__(self, template: GuidanceTemplate, shape: Shape) -> None:
        self._template = template
        self._shape = shape
        self._text: list[str] = []
        self._last: str | None = None

    def feed(self, text: str) -> None:
        self._text.append(text)

    def snapshot(self) -> Any:
        values = self._template.partial_values("".join(self._text))
        key = json.dumps(values, sort_keys=True, default=str)
        if not values or key == self._last:
            return MISSING
        self._last = key
        snaps = {}
        for name, val in values.items():
            field = self._shape.field_name(name)
            if field is not None:
                snaps[field] = val
        return self._shape.build_object(snaps, None, MISSING)

    def pop_items(self) -> list[Any]:
        return []
