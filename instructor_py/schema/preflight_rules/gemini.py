"""Preflight rules: Gemini."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instructor_py.schema.preflight_report import PreflightReport
from instructor_py.schema.preflight_rules.walk import (
    CHECKED_AFTER,
    SILENT,
    Node,
    Pass,
    Path,
    inline_refs,
    merge_all_of,
    remote_refs,
    types_of,
    walk,
)

# --- Gemini --------------------------------------------------------------------------------------

_GEMINI_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
})
_GEMINI_FORMATS = {"string": {"date-time", "enum"}, "number": {"float", "double"},
                   "integer": {"int32", "int64"}}
_GEMINI_JSON_KEYS = frozenset({
    "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum",
    "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf",
    "properties", "additionalProperties", "required", "propertyOrdering", "const",
})
_GEMINI_FIX = "use Gemini's responseJsonSchema (target 'gemini/responseJsonSchema')"


def gemini_response_schema(
    schema: Mapping[str, Any], variant: str = "responseSchema"
) -> PreflightReport:
    """Gemini ``generationConfig.responseSchema`` (and function ``parameters``): OpenAPI 3.0."""
    p = Pass("gemini", variant, schema)
    remote_refs(p)
    inline_refs(p, "make the schema non-recursive, or " + _GEMINI_FIX)

    def visit(node: Node, path: Path) -> Node:
        for key in SILENT:
            node.pop(key, None)
        if "allOf" in node:
            node = merge_all_of(p, node, path)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            p.rewrite(path, "oneOf", "sent as anyOf")
        types = types_of(node)
        if isinstance(node.get("type"), list):
            rest = [t for t in types if t != "null"]
            if len(rest) == 1:
                node["type"] = rest[0]
                if "null" in types:
                    node["nullable"] = True
            else:
                node.pop("type")
                node["anyOf"] = [{"type": t} for t in rest]
                if "null" in types:
                    node["nullable"] = True
            p.rewrite(path, "type", "type list written as OpenAPI type + nullable")
        branches = node.get("anyOf")
        if isinstance(branches, list) and any(types_of(b) == ["null"] for b in branches):
            others = [b for b in branches if types_of(b) != ["null"]]
            node.pop("anyOf")
            if len(others) == 1 and isinstance(others[0], dict):
                node = {**others[0], **node}
            else:
                node["anyOf"] = others
            node["nullable"] = True
            p.rewrite(path, "anyOf", "union with null written as nullable")
        if "const" in node:
            value = node.pop("const")
            if isinstance(value, str):
                node["enum"] = [value]
                node.setdefault("type", "string")
                p.rewrite(path, "const", "written as a one-value enum")
            else:
                p.rewrite(path, "const", CHECKED_AFTER)
        enum = node.get("enum")
        if isinstance(enum, list) and not all(isinstance(v, str) for v in enum if v is not None):
            node.pop("enum")
            p.rewrite(path, "enum", "responseSchema enums are strings only; " + CHECKED_AFTER)
        elif isinstance(enum, list) and None in enum:
            node["enum"] = [v for v in enum if v is not None]
            node["nullable"] = True
            p.rewrite(path, "enum", "null written as nullable")
        for key in sorted(set(node) - _GEMINI_KEYS):
            if key == "prefixItems":
                p.refuse(path, key, "responseSchema has no tuples", _GEMINI_FIX)
            elif key == "additionalProperties" and not node.get("properties") and (
                node[key] is True or (isinstance(node[key], Mapping) and node[key])
            ):
                p.refuse(path, key, "responseSchema has no maps (free-form keys)",
                         "use a list of {key, value} objects, or " + _GEMINI_FIX)
            else:
                node.pop(key)
                p.rewrite(path, key, CHECKED_AFTER)
        fmt = node.get("format")
        if fmt is not None and fmt not in _GEMINI_FORMATS.get(str(node.get("type")), ()):
            node.pop("format")
            p.rewrite(path, "format", f"format {fmt!r} is not in the OpenAPI subset; "
                      + CHECKED_AFTER)
        if not any(k in node for k in ("type", "anyOf", "enum")):
            p.refuse(path, "type", "responseSchema needs a type at every node (this one takes "
                     "any value)", "give the field a type, or " + _GEMINI_FIX)
        if node.get("type") == "object" and not node.get("properties"):
            p.refuse(path, "properties", "responseSchema needs at least one property on an "
                     "object", "give the object named fields, or " + _GEMINI_FIX)
        return node

    p.root = walk(p.root, (), visit)
    return p.report(schema)


def gemini_response_json_schema(
    schema: Mapping[str, Any], variant: str = "responseJsonSchema"
) -> PreflightReport:
    """Gemini ``generationConfig.responseJsonSchema``: a JSON Schema subset with $defs/$ref."""
    p = Pass("gemini", variant, schema)
    remote_refs(p)
    if "definitions" in p.root and "#/definitions/" in repr(p.root):
        inline_refs(p, "move 'definitions' to '$defs'")

    def visit(node: Node, path: Path) -> Node:
        for key in ("$schema", "$comment"):
            node.pop(key, None)
        if "allOf" in node:
            node = merge_all_of(p, node, path)
        for key in sorted(set(node) - _GEMINI_JSON_KEYS):
            node.pop(key)
            p.rewrite(path, key, CHECKED_AFTER)
        return node

    p.root = walk(p.root, (), visit)
    return p.report(schema)
