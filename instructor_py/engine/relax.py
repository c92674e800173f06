"""Relaxing a JSON schema into a looser one that the backends compile exactly.

When no backend compiles a schema exactly, the orchestrator compiles :func:`relax_schema` of it
instead and marks the handle ``exact=False``. The relaxed schema must accept *every* instance the
original accepts (a relaxed constraint may let invalid output through, for validation + retry to
catch, but it must never block valid output, or no retry could succeed). So it is built only by
steps that each provably widen the set of valid instances:

- dropping an assertion keyword that constrains nothing but its own instance (JSON Schema
  evaluates keywords independently and combines them with AND, so removing one can only accept
  more): ``not``, ``uniqueItems``, ``contains``/``minContains``/``maxContains``, ``if``/``then``/
  ``else`` (all three together), ``dependencies``/``dependentRequired``/``dependentSchemas``,
  ``minProperties``/``maxProperties``, ``propertyNames``, a ``format`` the default backend does not
  know, and ``unevaluatedProperties``/``unevaluatedItems`` (these read the annotations of
  ``if``/``then``, ``dependentSchemas`` and ``contains``: kept after dropping those, they could
  refuse a property or item that was evaluated before, so they go too);
- ``oneOf`` becomes ``anyOf`` (exactly one branch implies at least one).

Keywords whose meaning depends on siblings (``properties`` / ``patternProperties`` /
``additionalProperties``, ``items`` / ``prefixItems`` / ``additionalItems``) are kept together, so
they keep their meaning. The backend then compiles the result *strictly* (``lenient=False``): a
keyword it still cannot implement is an error, and the orchestrator falls back to the coarser
"any JSON value of the right type" tier (:func:`coarse_schema`). (llguidance's own ``lenient`` mode is not used for this:
it is not always a relaxation, e.g. it wants one more property than ``minProperties`` asks.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["KNOWN_FORMATS", "RELAXED_DROP", "coarse_schema", "relax_schema"]

#: Assertion keywords :func:`relax_schema` removes (each only restricts its own instance).
RELAXED_DROP = frozenset(
    {
        "not", "uniqueItems", "contains", "minContains", "maxContains", "if", "then", "else",
        "dependencies", "dependentRequired", "dependentSchemas", "minProperties", "maxProperties",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems",
    }
)  # fmt: skip
#: String formats llguidance implements; any other ``format`` is dropped by :func:`relax_schema`.
KNOWN_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_SINGLE = ("additionalProperties", "additionalItems")


def relax_schema(schema: Any, *, drop_patterns: bool = False) -> Any:
    """A copy of ``schema`` that accepts every instance ``schema`` accepts (see module doc).

    ``drop_patterns`` also drops every ``pattern`` (a pure assertion too), for when the backend
    cannot compile one of them (lookarounds, ECMAScript-only syntax).
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in RELAXED_DROP or (drop_patterns and key == "pattern"):
            continue
        if key == "format" and isinstance(value, str) and value not in KNOWN_FORMATS:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {
                name: relax_schema(sub, drop_patterns=drop_patterns) for name, sub in value.items()
            }
        elif (key in _SCHEMA_LISTS or key == "items") and isinstance(value, list):
            out[key] = [relax_schema(sub, drop_patterns=drop_patterns) for sub in value]
        elif key == "items" or key in _SCHEMA_SINGLE:
            out[key] = relax_schema(value, drop_patterns=drop_patterns)
        elif key == "$ref" and isinstance(value, str):
            out[key] = _relaxed_ref(value)
        else:
            out[key] = value
    one_of = out.pop("oneOf", None)
    if one_of is not None:
        if "anyOf" in out:  # both: intersect them; pointers into either no longer resolve
            out["allOf"] = [*out.get("allOf", []), {"anyOf": out.pop("anyOf")}, {"anyOf": one_of}]
        else:
            out["anyOf"] = one_of
    return out


def _relaxed_ref(ref: str) -> str:
    """``ref`` with each ``oneOf`` step renamed ``anyOf`` (the relaxed schema's spelling).

    A step right after a map keyword (``properties``...) is a name and stays as it is. A pointer
    into a schema that had both ``anyOf`` and ``oneOf`` then resolves to nothing, which makes the
    compilation fail (and the orchestrator fall back to the coarser tier), never to a wrong node.
    """
    if not ref.startswith("#/") or "oneOf" not in ref:
        return ref
    steps = ref[2:].split("/")
    for i, step in enumerate(steps):
        if step == "oneOf" and (i == 0 or steps[i - 1] not in _SCHEMA_MAPS):
            steps[i] = "anyOf"
    return "#/" + "/".join(steps)


_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


def coarse_schema(schema: Any) -> dict[str, Any]:
    """The last relaxation tier: any JSON value of ``schema``'s top-level type(s)."""
    if not isinstance(schema, dict):
        return {}
    t = schema.get("type")
    if isinstance(t, str) and t in _JSON_TYPES:
        return {"type": t}
    if isinstance(t, list) and t and all(isinstance(x, str) and x in _JSON_TYPES for x in t):
        return {"type": list(t)}
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return {"type": "object"}
    if "items" in schema or "prefixItems" in schema:
        return {"type": "array"}
    return {}
