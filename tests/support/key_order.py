"""Reorder an instance's object keys the way its schema lists them (MaskBench's reordering).

llguidance generates (and accepts) an object's schema-listed properties in the order of the
schema's ``properties``. JSON Schema itself does not care about key order, so MaskBench's creators
reordered every valid instance to the order llguidance accepts (``maskbench/creation/reorder.py``),
but only for the schemas llguidance compiled at the time. When an engine rejects a valid instance,
the scorer retries once with its keys in schema order; an instance accepted that way counts as
accepted and is reported in the ``reordered`` column.

The order is taken from ``properties`` (following local ``$ref``, merging ``allOf`` branches in
order, and of ``anyOf``/``oneOf`` alternatives only the one listing most of the object's keys,
since llguidance orders each alternative on its own; values under ``patternProperties`` or
``additionalProperties`` are reordered by those subschemas); keys the schema does not list keep
their order, after the listed ones. A heuristic: it never changes values, only key order, and it does not know every
rule llguidance uses to order properties merged from several subschemas.
"""

from __future__ import annotations

import re
from typing import Any

_MAX_REF_DEPTH = 32


def _resolve(schema: Any, root: Any) -> Any:
    for _ in range(_MAX_REF_DEPTH):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            return schema
        ref: str = schema["$ref"]
        if not ref.startswith("#"):
            return schema
        node = root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return schema
        schema = node
    return schema


def _properties(
    schema: Any, root: Any, out: dict[str, Any], keys: frozenset[str] = frozenset(), depth: int = 0
) -> None:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        for key, sub in props.items():
            out.setdefault(key, sub)
    branches = schema.get("allOf")
    if isinstance(branches, list):
        for branch in branches:
            _properties(branch, root, out, keys, depth + 1)
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            # llguidance orders each alternative's properties on its own: follow the branch
            # that lists most of the instance's keys (the first one on a tie)
            found: list[dict[str, Any]] = []
            for branch in branches:
                found.append({})
                _properties(branch, root, found[-1], keys, depth + 1)
            best = max(found, key=lambda f: len(keys.intersection(f)))
            for key, sub in best.items():
                out.setdefault(key, sub)


def _items(schema: Any, root: Any) -> Any:
    schema = _resolve(schema, root)
    if isinstance(schema, dict):
        items = schema.get("items")
        if isinstance(items, dict):
            return items
        for combinator in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(combinator) or []:
                found = _items(branch, root)
                if found is not None:
                    return found
    return None


def _value_schema(key: str, props: dict[str, Any], schema: Any, root: Any) -> Any:
    if key in props:
        return props[key]
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return None
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict):
        for pattern, sub in patterns.items():
            try:
                if re.search(pattern, key):
                    return sub
            except re.error:
                continue
    return schema.get("additionalProperties")


def reorder_like_schema(data: Any, schema: Any, root: Any | None = None) -> Any:
    """A copy of ``data`` whose objects list their keys in the schema's ``properties`` order."""
    root = schema if root is None else root
    if isinstance(data, dict):
        props: dict[str, Any] = {}
        _properties(schema, root, props, frozenset(data))
        order = [k for k in props if k in data] + [k for k in data if k not in props]
        return {k: reorder_like_schema(data[k], _value_schema(k, props, schema, root), root)
                for k in order}
    if isinstance(data, list):
        item_schema = _items(schema, root)
        return [reorder_like_schema(v, item_schema, root) for v in data]
    return data
