"""Preparing a response schema for constrained decoding.

JSON Schema allows extra properties unless ``additionalProperties`` says otherwise; pydantic's
schemas leave it unset. Under a grammar that means the model may invent keys (which pydantic then
drops), wasting tokens and confusing small models. Like OpenAI's strict structured outputs, the
local provider closes object schemas that have ``properties`` and no ``additionalProperties``
(pass ``strict_objects=False`` to keep them open). Schemas are copied, never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["close_object_schemas"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")
_SCHEMA_SINGLE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "additionalItems",
)


def close_object_schemas(schema: Any, *, close_self: bool = True) -> Any:
    """A copy of ``schema`` where every object schema with ``properties`` and no
    ``additionalProperties`` gets ``additionalProperties: false``. The direct members of an
    ``allOf`` stay open (closing each part of a composition would reject the whole)."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = dict(schema)
    for key in _SCHEMA_MAPS:
        value = out.get(key)
        if isinstance(value, Mapping):
            out[key] = {name: close_object_schemas(sub) for name, sub in value.items()}
    for key in _SCHEMA_LISTS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [close_object_schemas(sub) for sub in value]
    if isinstance(out.get("allOf"), list):
        out["allOf"] = [close_object_schemas(sub, close_self=False) for sub in out["allOf"]]
    for key in _SCHEMA_SINGLE:
        if key in out:
            out[key] = close_object_schemas(out[key])
    if (
        close_self
        and "properties" in out
        and "additionalProperties" not in out
        and "unevaluatedProperties" not in out
    ):
        out["additionalProperties"] = False
    return out
