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


def close_object_schemas(
    schema: Any, *, close_self: bool = True, required_first: bool = False, close: bool = True
) -> Any:
    """A copy of ``schema`` where every object schema with ``properties`` and no
    ``additionalProperties`` gets ``additionalProperties: false``. The direct members of an
    ``allOf`` stay open (closing each part of a composition would reject the whole).

    With ``required_first``, each object's required properties come before its optional ones (the
    grammar writes keys in schema order): a model that has written what it must is then offered
    to close the object before it is offered optional keys. ``close=False`` only reorders."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = dict(schema)

    def walk(sub: Any, self_too: bool = True) -> Any:
        return close_object_schemas(
            sub, close_self=self_too, required_first=required_first, close=close
        )

    for key in _SCHEMA_MAPS:
        value = out.get(key)
        if isinstance(value, Mapping):
            out[key] = {name: walk(sub) for name, sub in value.items()}
    for key in _SCHEMA_LISTS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [walk(sub) for sub in value]
    if isinstance(out.get("allOf"), list):
        out["allOf"] = [walk(sub, self_too=False) for sub in out["allOf"]]
    for key in _SCHEMA_SINGLE:
        if key in out:
            out[key] = walk(out[key])
    required = out.get("required")
    if required_first and isinstance(out.get("properties"), Mapping) and isinstance(required, list):
        props = out["properties"]
        out["properties"] = {
            **{k: v for k, v in props.items() if k in required},
            **{k: v for k, v in props.items() if k not in required},
        }
    if (
        close
        and close_self
        and "properties" in out
        and "additionalProperties" not in out
        and "unevaluatedProperties" not in out
    ):
        out["additionalProperties"] = False
    return out
