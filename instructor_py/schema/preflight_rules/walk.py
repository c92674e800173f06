"""What every preflight rule shares: the walk over a schema's subschemas (with JSON paths), the
pass that records issues, and the rewrites several targets need ($ref inlining, allOf merging, a
root that must be an object). The vendors' documented subsets are quoted in
:mod:`instructor_py.schema.preflight_rules`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from instructor_py.common.json_path import json_path
from instructor_py.schema.preflight_report import PreflightIssue, PreflightReport

Node = dict[str, Any]
Path = tuple[Any, ...]

_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
                  "propertyNames", "unevaluatedProperties")
CHECKED_AFTER = "dropped from the wire; your schema still checks the answer"


class Pass:
    """One walk over a copy of the schema, collecting issues."""

    def __init__(self, target: str, variant: str, schema: Mapping[str, Any]) -> None:
        self.target = target
        self.variant = variant
        self.root: Node = copy.deepcopy(dict(schema))
        self.issues: list[PreflightIssue] = []

    def rewrite(self, path: Path, keyword: str, detail: str) -> None:
        self.issues.append(PreflightIssue(keyword, json_path(path), "rewritten", detail))

    def refuse(self, path: Path, keyword: str, detail: str, fix: str) -> None:
        self.issues.append(PreflightIssue(keyword, json_path(path), "refused", detail, fix))

    def report(self, original: Mapping[str, Any]) -> PreflightReport:
        refused = any(i.action == "refused" for i in self.issues)
        changed = any(i.action == "rewritten" for i in self.issues)
        wire = original if refused or not changed else self.root
        return PreflightReport(self.target, self.variant, wire, tuple(self.issues))


SILENT = ("$schema", "$id", "$comment")
"""Annotations dropped from the wire without a word (no provider needs them)."""


def walk(node: Any, path: Path, visit: Any) -> Any:
    """Depth-first: ``visit(node, path)`` returns the node to keep, then its subschemas."""
    if not isinstance(node, dict):
        return node
    node = visit(node, path)
    if not isinstance(node, dict):
        return node
    for key in _SUBSCHEMA_MAPS:
        sub = node.get(key)
        if isinstance(sub, dict):
            for name in list(sub):
                sub[name] = walk(sub[name], (*path, key, name), visit)
    for key in _SUBSCHEMA_LISTS:
        sub = node.get(key)
        if isinstance(sub, list):
            node[key] = [walk(item, (*path, key, i), visit) for i, item in enumerate(sub)]
    for key in _SUBSCHEMA_ONE:
        if isinstance(node.get(key), dict):
            node[key] = walk(node[key], (*path, key), visit)
    return node


def remote_refs(p: Pass) -> None:
    def visit(node: Node, path: Path) -> Node:
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            p.refuse(path, "$ref", f"points outside the schema ({ref[:60]!r})",
                     "inline the referenced schema under $defs and use '#/$defs/Name'")
        return node

    walk(p.root, (), visit)


def types_of(node: Any) -> list[str]:
    if not isinstance(node, Mapping):
        return []
    t = node.get("type")
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def is_nullable(node: Any) -> bool:
    if not isinstance(node, Mapping):
        return node is True
    if "null" in types_of(node) or node.get("nullable") is True:
        return True
    if None in (node.get("enum") or ()):
        return True
    return any(isinstance(s, Mapping) and is_nullable(s) for s in node.get("anyOf") or ())


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    if ref == "#":
        return root
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def merge_all_of(p: Pass, node: Node, path: Path) -> Node:
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    resolved = [_resolve(p.root, s["$ref"]) if isinstance(s, Mapping) and "$ref" in s and len(s) == 1
                else s for s in parts]
    merged: Node = {k: v for k, v in node.items() if k != "allOf"}
    for sub in resolved:
        if not isinstance(sub, Mapping):
            p.refuse(path, "allOf", "a part is not a schema", "write the merged schema out")
            return node
        for key, value in sub.items():
            if key == "properties" and isinstance(value, Mapping):
                merged.setdefault("properties", {}).update(copy.deepcopy(dict(value)))
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            elif key in merged and merged[key] != value and key not in ("description", "title"):
                p.refuse(path, "allOf", f"parts disagree on {key!r}",
                         "write the merged schema out instead of allOf")
                return node
            else:
                merged.setdefault(key, copy.deepcopy(value))
    p.rewrite(path, "allOf", f"merged its {len(parts)} part(s) into one schema")
    return merged


_INLINE_BUDGET = 50_000


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


def inline_refs(p: Pass, fix: str) -> None:
    """Replace every local ``$ref`` by its target (``$defs`` removed); recursion is refused."""
    defs_keys = [k for k in ("$defs", "definitions") if k in p.root]
    budget = [_INLINE_BUDGET]

    def expand(node: Any, path: Path, stack: tuple[str, ...]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            return {}
        return expand_node(node, path, stack)

    def expand_node(node: Any, path: Path, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [expand(x, (*path, i), stack) for i, x in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            if ref in stack:
                p.refuse(path, "$ref", f"recursive reference {ref!r} cannot be inlined", fix)
                return {}
            target = _resolve(p.root, ref)
            if not isinstance(target, Mapping):
                p.refuse(path, "$ref", f"{ref!r} points at nothing", "fix the reference")
                return {}
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            body = {k: v for k, v in target.items() if k not in defs_keys}
            return expand({**copy.deepcopy(body), **siblings}, path, (*stack, ref))
        return {k: (v if k in ("enum", "const", "default", "examples", "required")
                    else expand(v, (*path, k), stack)) for k, v in node.items()
                if not (not path and k in defs_keys)}

    if not _has_ref(p.root):
        return
    p.root = expand(p.root, (), ())
    if budget[0] < 0:
        p.refuse((), "$ref", f"more than {_INLINE_BUDGET} nodes once references are inlined",
                 fix)
        return
    p.rewrite((), "$ref", "references inlined" + (" ($defs removed)" if defs_keys else ""))


def root_object(p: Pass, what: str) -> None:
    root = p.root
    if "object" in types_of(root):
        return
    if "type" not in root and isinstance(root.get("properties"), Mapping):
        root["type"] = "object"
        p.rewrite((), "type", 'added "type": "object" at the root')
        return
    p.refuse((), "type", f"{what} needs an object at the root, got {root.get('type', 'no type')!r}"
             + (" with anyOf" if "anyOf" in root else ""),
             "wrap the value in an object, e.g. {\"value\": <your schema>} (Sequence.of / a "
             "wrapper model does this)")
