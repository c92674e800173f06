"""A JSON Schema to the OpenAPI 3.0 subset Gemini's ``responseSchema`` / function ``parameters``
take (``with_options(schema_style="openapi")``; the default sends JSON Schema as it is in
``responseJsonSchema``).

Reference: https://ai.google.dev/api/caching#Schema -- fields ``type`` (upper-case or lower-case
names), ``format``, ``title``, ``description``, ``nullable``, ``enum``, ``maxItems``, ``minItems``,
``properties``, ``required``, ``minProperties``, ``maxProperties``, ``minLength``,
``maxLength``, ``pattern``, ``example``, ``anyOf``, ``propertyOrdering``, ``default``, ``items``,
``minimum``, ``maximum``. ``$ref`` s are inlined, ``anyOf`` / type lists with ``null`` become
``nullable``, ``const`` a one-value ``enum``; other keywords are dropped (the answer is still
validated against the full schema). A recursive schema cannot be inlined: use the default style.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.common.errors import InvalidSchemaError

KEPT = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
     "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example",
     "propertyOrdering", "default", "minimum", "maximum"}
)  # fmt: skip
_MAX_DEPTH = 64


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise InvalidSchemaError(f"$ref {ref!r} is not local to the schema; inline it under $defs.")
    node: Any = root
    for key in ref[2:].split("/"):
        key = key.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            raise InvalidSchemaError(f"$ref {ref!r} points nowhere in the schema.")
        node = node[key]
    if not isinstance(node, Mapping):
        raise InvalidSchemaError(f"$ref {ref!r} does not point at a schema object.")
    return node


def to_openapi_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    return _convert(schema, schema, (), 0)


def _convert(
    node: Mapping[str, Any], root: Mapping[str, Any], refs: tuple[str, ...], depth: int
) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise InvalidSchemaError("the schema is nested too deeply for responseSchema.")
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in refs:
            raise InvalidSchemaError(
                f"the schema is recursive ($ref {ref!r}); Gemini's responseSchema cannot express "
                "that. Use the default schema_style ('json_schema': responseJsonSchema)."
            )
        merged = {**_resolve(ref, root), **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, root, (*refs, ref), depth + 1)
    out: dict[str, Any] = {k: v for k, v in node.items() if k in KEPT}
    if "const" in node:
        out["enum"] = [node["const"]]
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != len(kind):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            out.pop("type", None)
            out["anyOf"] = [{"type": k} for k in kinds]
    if out.get("enum") is not None and "type" not in out:
        out["type"] = "string"
    union = node.get("anyOf") or node.get("oneOf")
    if isinstance(union, list):
        branches = [b for b in union if isinstance(b, Mapping)]
        real = [b for b in branches if b.get("type") != "null"]
        if len(real) != len(branches):
            out["nullable"] = True
        converted = [_convert(b, root, refs, depth + 1) for b in real]
        if len(converted) == 1:
            out.update({k: v for k, v in converted[0].items() if k not in out or k == "type"})
        else:
            out["anyOf"] = converted
    all_of = node.get("allOf")
    if isinstance(all_of, list) and all_of:
        for branch in all_of:
            if isinstance(branch, Mapping):
                out.update(_convert(branch, root, refs, depth + 1))
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        out["properties"] = {
            name: _convert(sub, root, refs, depth + 1)
            for name, sub in properties.items()
            if isinstance(sub, Mapping)
        }
        out.setdefault("propertyOrdering", list(properties))
        if "required" in node:
            out["required"] = list(node["required"])
    items = node.get("items")
    if isinstance(items, Mapping):
        out["items"] = _convert(items, root, refs, depth + 1)
    return out
