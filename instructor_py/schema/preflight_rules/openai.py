"""Preflight rules: OpenAI strict."""

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
    is_nullable,
    merge_all_of,
    remote_refs,
    root_object,
    types_of,
    walk,
)

# --- OpenAI strict ----------------------------------------------------------------------------

_OPENAI_KEYS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
    "$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf",
    "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
})
_OPENAI_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4",
                             "ipv6", "uuid"})
_OPENAI_FIX = "turn strict off (with_options(strict=False): the answer is then checked after)"
_TYPED = ("type", "enum", "const", "anyOf", "$ref", "oneOf", "allOf")


def openai_strict(schema: Mapping[str, Any], variant: str = "strict") -> PreflightReport:
    """OpenAI Structured Outputs, strict (``response_format`` json_schema and strict tools)."""
    p = Pass("openai", variant, schema)
    remote_refs(p)
    state = {"properties": 0, "enum": 0, "depth": 0}

    def visit(node: Node, path: Path) -> Node:
        for key in SILENT:
            node.pop(key, None)
        if "allOf" in node:
            node = merge_all_of(p, node, path)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            p.rewrite(path, "oneOf", "sent as anyOf (strict mode has no oneOf)")
        if node.get("nullable") is True:
            node.pop("nullable")
            if "type" in node and "null" not in types_of(node):
                node["type"] = [*types_of(node), "null"]
            p.rewrite(path, "nullable", "written as a union with null")
        for key in sorted(set(node) - _OPENAI_KEYS):
            if key == "prefixItems":
                p.refuse(path, key, "strict mode has no tuples (prefixItems)",
                         "use an object with named fields, or " + _OPENAI_FIX)
            elif key == "patternProperties" and not node.get("properties"):
                p.refuse(path, key, "strict mode has no maps (patternProperties)",
                         "use a list of {key, value} objects, or " + _OPENAI_FIX)
            else:
                node.pop(key)
                p.rewrite(path, key, CHECKED_AFTER)
        fmt = node.get("format")
        if fmt is not None and fmt not in _OPENAI_FORMATS:
            node.pop("format")
            p.rewrite(path, "format", f"format {fmt!r} is not supported; {CHECKED_AFTER}")
        if not any(k in node for k in _TYPED):
            p.refuse(path, "type", "strict mode needs a type at every node (this one takes any "
                     "value)", "give the field a type, or " + _OPENAI_FIX)
        if isinstance(node.get("enum"), list):
            state["enum"] += len(node["enum"])
        depth = sum(1 for part in path if part == "properties")
        state["depth"] = max(state["depth"], depth)
        if "object" in types_of(node) or isinstance(node.get("properties"), Mapping):
            _openai_object(p, node, path, state)
        return node

    p.root = walk(p.root, (), visit)
    if "anyOf" in p.root and "type" not in p.root:
        p.refuse((), "anyOf", "the root must be an object, not anyOf",
                 "wrap the union in an object field")
    else:
        root_object(p, "OpenAI strict mode")
    if state["depth"] > 10:
        p.refuse((), "properties", f"{state['depth']} levels of nesting (at most 10)",
                 "flatten the schema, or " + _OPENAI_FIX)
    if state["properties"] > 5000:
        p.refuse((), "properties", f"{state['properties']} properties (at most 5000)",
                 "split the schema, or " + _OPENAI_FIX)
    if state["enum"] > 1000:
        p.refuse((), "enum", f"{state['enum']} enum values (at most 1000)",
                 "use a string field checked by a validator, or " + _OPENAI_FIX)
    return p.report(schema)


def _openai_object(p: Pass, node: Node, path: Path, state: dict[str, int]) -> None:
    props = node.get("properties")
    extra = node.get("additionalProperties")
    open_ended = (isinstance(extra, Mapping) and bool(extra)) or extra is True
    if (not isinstance(props, Mapping) or not props) and (
        open_ended or "additionalProperties" not in node
    ):
        p.refuse(path, "additionalProperties", "strict mode has no free-form objects or maps",
                 "use a list of {key, value} objects or named fields, or " + _OPENAI_FIX)
        return
    if extra is not False:
        node["additionalProperties"] = False
        p.rewrite(path, "additionalProperties", "set to false (strict mode closes every object)")
    names = list(props or {})
    state["properties"] += len(names)
    for name in names:
        if isinstance(props, Mapping) and isinstance(props[name], bool):
            p.refuse((*path, "properties", name), "type", "a boolean schema takes any value; "
                     "strict mode needs a type", "give the field a type, or " + _OPENAI_FIX)
    given = node.get("required")
    required = [r for r in given if r in names] if isinstance(given, list) else []
    missing = [n for n in names if n not in required]
    if missing:
        node["required"] = names
        nullable = [n for n in missing if isinstance(props, Mapping) and is_nullable(props[n])]
        detail = f"made required: {', '.join(missing)} (strict mode has no optional fields"
        detail += "; null stands for absent)" if len(nullable) == len(missing) else (
            "; the model always fills them, and your schema checks the value)")
        p.rewrite(path, "required", detail)
