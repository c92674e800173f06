"""A JSON schema as short plain text, for the prompt of a model whose output a grammar constrains.

When the local engine enforces the schema token by token, the prompt no longer has to teach the
syntax: it only has to say what each field means. Small models read a list of keys with their
types and descriptions far better than a JSON schema, and a schema in the prompt leaks into their
answers (``"$ref"`` strings, ``"#/$defs/..."``, copied ``"description"`` texts). So GRAMMAR mode
shows::

    Answer with a JSON object with these keys:
    - "base" (integer): The base of the triangle.
    - "unit" (string, optional): The unit of measure.
    - "items" (list of objects, each with these keys):
      - "name" (string)

Local ``$ref``s are inlined (a recursive one is named, not expanded again), enums become
``one of "a", "b"``, bounds and formats are stated, and nothing of the schema's own syntax
appears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["describe_schema"]

_TYPE_NAMES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "true or false",
    "null": "null",
    "object": "object",
    "array": "list",
}
_MAX_DEPTH = 6
_MAX_ENUM = 24


def describe_schema(schema: Mapping[str, Any]) -> str:
    """The plain-text description of ``schema`` (an object schema, or any schema)."""
    writer = _Writer(schema)
    node = writer.resolve(schema)
    lines: list[str] = []
    description = node.get("description")
    if isinstance(description, str) and description.strip():
        lines.append(description.strip())
    if _is_object(node) and node.get("properties"):
        lines.append("Answer with a JSON object with these keys:")
        writer.keys(node, 0, lines)
    else:
        lines.append(f"Answer with JSON: {writer.kind(node, 0)}.")
    return "\n".join(lines)


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (kind is None and "properties" in node)


class _Writer:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._active: list[str] = []  # refs being expanded (recursion guard)

    def resolve(self, node: Any) -> Mapping[str, Any]:
        """Follow a local ``$ref`` (``#/$defs/X``, ``#/definitions/X``, ``#``); sibling keys of the
        ref (e.g. a description) win over the target's."""
        if not isinstance(node, Mapping):
            return {}
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return node
        target: Any = self.root
        for part in ref.lstrip("#").strip("/").split("/") if ref not in ("#", "#/") else []:
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {k: v for k, v in node.items() if k != "$ref"}
        merged = {**self.resolve(target), **{k: v for k, v in node.items() if k != "$ref"}}
        merged["$__ref"] = ref
        return merged

    def keys(self, node: Mapping[str, Any], depth: int, lines: list[str]) -> None:
        required = set(node.get("required") or ())
        indent = "  " * depth
        for name, sub in (node.get("properties") or {}).items():
            child = self.resolve(sub)
            kind = self.kind(child, depth + 1)
            notes = [kind] if kind else []
            if name not in required:
                notes.append("optional")
            line = f"{indent}- {json.dumps(name, ensure_ascii=False)}"
            if notes:
                line += f" ({', '.join(notes)})"
            extra = self.facts(child)
            if extra:
                line += f": {extra}"
            lines.append(line)
            nested = self._nested_object(child)
            ref = nested.get("$__ref") if nested is not None else None
            if nested is None or ref in self._active or depth + 1 >= _MAX_DEPTH:
                continue
            if isinstance(ref, str):
                self._active.append(ref)
            self.keys(nested, depth + 1, lines)
            if isinstance(ref, str):
                self._active.pop()

    def _nested_object(self, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The object whose keys go on indented lines under this one (an object, or the items of
        a list of objects)."""
        if _is_object(node) and node.get("properties"):
            return node
        for key in ("anyOf", "oneOf"):
            options = [self.resolve(o) for o in node.get(key) or ()]
            options = [o for o in options if o.get("type") != "null"]
            if len(options) == 1:
                return self._nested_object(options[0])
        if node.get("type") == "array":
            items = self.resolve(node.get("items"))
            if _is_object(items) and items.get("properties"):
                return items
        return None

    def kind(self, node: Mapping[str, Any], depth: int) -> str:
        """A short type phrase: ``integer``, ``list of strings``, ``one of "a", "b"``."""
        if "const" in node:
            return f"exactly {json.dumps(node['const'], ensure_ascii=False)}"
        if isinstance(node.get("enum"), list):
            values = node["enum"][:_MAX_ENUM]
            more = ", ..." if len(node["enum"]) > _MAX_ENUM else ""
            return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + more
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list) and options:
                kinds = [self.kind(self.resolve(o), depth + 1) for o in options]
                return " or ".join(dict.fromkeys(k for k in kinds if k)) or ""
        kind = node.get("type")
        if isinstance(kind, list):
            return " or ".join(self.kind({**node, "type": k}, depth) for k in kind)
        if kind == "array" or (kind is None and "items" in node):
            items = self.resolve(node.get("items"))
            if not items:
                return "list"
            inner = self.kind(items, depth + 1)
            if _is_object(items) and items.get("properties"):
                return "list of objects, each with these keys"
            return f"list of {_plural(inner)}" if inner else "list"
        if _is_object(node):
            if node.get("properties"):
                return "object with these keys"
            extra = node.get("additionalProperties")
            if isinstance(extra, Mapping) and extra:
                value = self.kind(self.resolve(extra), depth + 1)
                return f"object mapping names to {_plural(value)}" if value else "object"
            return "object"
        if isinstance(kind, str):
            name = _TYPE_NAMES.get(kind, kind)
            fmt = node.get("format")
            return f"{name} ({fmt})" if isinstance(fmt, str) and kind == "string" else name
        return ""

    @staticmethod
    def facts(node: Mapping[str, Any]) -> str:
        """The description, then bounds and the default."""
        parts: list[str] = []
        description = node.get("description")
        if isinstance(description, str) and description.strip():
            parts.append(description.strip())
        bounds = []
        for key, word in (
            ("minimum", "at least"),
            ("exclusiveMinimum", "more than"),
            ("maximum", "at most"),
            ("exclusiveMaximum", "less than"),
        ):
            value = node.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds.append(f"{word} {value}")
        for key, word in (("minLength", "at least"), ("maxLength", "at most")):
            value = node.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                bounds.append(f"{word} {value} characters")
        for key, word in (("minItems", "at least"), ("maxItems", "at most")):
            value = node.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                bounds.append(f"{word} {value} items")
        if bounds:
            parts.append("; ".join(bounds))
        if "default" in node and node["default"] is not None:
            parts.append(f"Default: {json.dumps(node['default'], ensure_ascii=False)}")
        return ". ".join([*(p.rstrip(".") for p in parts[:-1]), *parts[-1:]])


def _plural(kind: str) -> str:
    if kind in ("string", "integer", "number", "object", "list"):
        return kind + "s"
    if kind.startswith("string ("):
        return "strings " + kind[len("string ") :]
    return kind
