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

Local ``$ref``s are inlined (a recursive one, or one already expanded, is named, not expanded
again, which keeps the text linear in the schema's size), ``allOf`` parts are merged, enums become
``one of "a", "b"``, unions of objects list each variant's keys, tuples (``prefixItems``) list
their positions, maps say what their values are, and bounds, patterns, formats, defaults and
optionality are stated. Nothing of the schema's own syntax appears.

The same text (with a closing line saying how to return the JSON) is what JSON and MD_JSON modes
show by default (``schema_prompt="compact"``, see :mod:`instructor_py.run.request_builder`): it
costs far fewer prompt tokens than the raw schema.
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
_MAX_DEPTH = 8
_MAX_ENUM = 24
_MAX_PATTERN = 80
# keywords the text has no words for: shown as they are (compact JSON) so nothing is lost
_UNDESCRIBED = (
    "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies", "contains",
    "minContains", "maxContains", "propertyNames", "not", "unevaluatedProperties",
    "unevaluatedItems",
)  # fmt: skip


def describe_schema(schema: Mapping[str, Any]) -> str:
    """The plain-text description of ``schema`` (an object schema, or any schema)."""
    writer = _Writer(schema)
    node = writer.resolve(schema)
    lines: list[str] = []
    description = node.get("description")
    if isinstance(description, str) and description.strip():
        lines.append(description.strip())
    nested = writer.nested_object(node)
    if _is_object(node) and node.get("properties"):
        lines.append("Answer with a JSON object with these keys:")
        writer.keys(node, 0, lines)
        if _rules(node):
            lines.append(_rules(node))
    elif nested is not None and node.get("type") == "array":
        lines.append("Answer with a JSON list of objects, each with these keys:")
        writer.keys(nested, 0, lines)
    else:
        lines.append(f"Answer with JSON: {writer.kind(node, 0)}.")
        variants = writer.object_variants(node)
        if len(variants) > 1:
            writer.variant_keys(variants, 0, lines)
        extra = writer.facts(node)
        if extra:
            lines.append(extra)
    return "\n".join(lines)


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (kind is None and "properties" in node)


def _ref_name(ref: str) -> str:
    name = ref.rstrip("/").rsplit("/", 1)[-1] if ref not in ("#", "#/") else "the answer"
    return name.replace("~1", "/").replace("~0", "~") or "the answer"


class _Writer:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._active: list[str] = []  # refs being expanded (recursion guard)
        self._done: set[str] = set()  # refs whose keys were already listed once

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> Mapping[str, Any]:
        """Follow a local ``$ref`` (``#/$defs/X``, ``#/definitions/X``, ``#``) and merge ``allOf``
        parts; sibling keys of the ref (e.g. a description) win over the target's."""
        if not isinstance(node, Mapping):
            return {}
        found: Mapping[str, Any] = node
        if isinstance(found.get("allOf"), list):
            found = self._merge_all_of(found, seen)
        return self._follow(found, seen)

    def _follow(self, node: Mapping[str, Any], seen: tuple[str, ...]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#") or ref in seen:
            return node
        target: Any = self.root
        for part in ref.lstrip("#").strip("/").split("/") if ref not in ("#", "#/") else []:
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {k: v for k, v in node.items() if k != "$ref"}
        merged = {**self.resolve(target, (*seen, ref)), **{k: v for k, v in node.items() if k != "$ref"}}
        merged["$__ref"] = ref
        return merged

    def _merge_all_of(self, node: Mapping[str, Any], seen: tuple[str, ...]) -> Mapping[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties") or {})
        required: list[Any] = list(merged.get("required") or ())
        for part in node["allOf"]:
            sub = self.resolve(part, seen)
            properties.update(sub.get("properties") or {})
            required.extend(sub.get("required") or ())
            for key, value in sub.items():
                if key not in ("properties", "required", "$__ref"):
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
            merged.setdefault("type", "object")
        if required:
            merged["required"] = list(dict.fromkeys(required))
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
            nested = self.nested_object(child)
            ref = (nested.get("$__ref") or child.get("$__ref")) if nested is not None else None
            repeated = isinstance(ref, str) and (ref in self._active or ref in self._done)
            extra = self.facts(child)
            if repeated:
                assert isinstance(ref, str)
                article = "each one is" if child.get("type") == "array" else "it is"
                same = f"{article} a {_ref_name(ref)}, with the keys listed above"
                extra = f"{extra.rstrip('.')}. {same}" if extra else same
            if extra:
                line += f": {extra}"
            lines.append(line)
            if nested is None:
                variants = self.object_variants(child)
                if len(variants) > 1 and depth + 1 < _MAX_DEPTH:
                    self.variant_keys(variants, depth + 1, lines)
                continue
            if repeated:
                continue
            if depth + 1 >= _MAX_DEPTH:
                lines.append(f"{indent}  keys: {_compact_json(nested)}")
                continue
            self._expand(nested, depth + 1, lines, ref)

    def _expand(
        self, node: Mapping[str, Any], depth: int, lines: list[str], ref: Any = None
    ) -> None:
        ref = ref or node.get("$__ref")
        if isinstance(ref, str):
            self._active.append(ref)
        self.keys(node, depth, lines)
        if isinstance(ref, str):
            self._active.pop()
            self._done.add(ref)

    def object_variants(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The object options of a union (``anyOf``/``oneOf``) that list keys."""
        for key in ("anyOf", "oneOf"):
            options = [self.resolve(o) for o in node.get(key) or ()]
            objects = [self.nested_object(o) for o in options]
            found = [o for o in objects if o is not None]
            if found:
                return found
        return []

    def variant_keys(self, variants: list[Mapping[str, Any]], depth: int, lines: list[str]) -> None:
        indent = "  " * depth
        for number, variant in enumerate(variants, 1):
            ref = variant.get("$__ref")
            label = f" ({_ref_name(ref)})" if isinstance(ref, str) else ""
            if isinstance(ref, str) and (ref in self._active or ref in self._done):
                lines.append(f"{indent}option {number}{label}: the keys listed above")
                continue
            lines.append(f"{indent}option {number}{label}, with these keys:")
            if depth + 1 >= _MAX_DEPTH:
                lines.append(f"{indent}  keys: {_compact_json(variant)}")
                continue
            self._expand(variant, depth + 1, lines)

    def nested_object(self, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The object whose keys go on indented lines under this one (an object, or the items of
        a list of objects)."""
        if _is_object(node) and node.get("properties"):
            return node
        for key in ("anyOf", "oneOf"):
            options = [self.resolve(o) for o in node.get(key) or ()]
            options = [o for o in options if o.get("type") != "null"]
            if len(options) == 1:
                return self.nested_object(options[0])
        if node.get("type") == "array":
            items = self.resolve(node.get("items"))
            if _is_object(items) and items.get("properties"):
                return items
        return None

    def kind(self, node: Mapping[str, Any], depth: int) -> str:
        """A short type phrase: ``integer``, ``list of strings``, ``one of "a", "b"``."""
        if depth > 3 * _MAX_DEPTH:
            return "any JSON value"
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
                joined = " or ".join(dict.fromkeys(k for k in kinds if k)) or ""
                return f"exactly one of: {joined}" if key == "oneOf" and len(set(kinds)) > 1 else joined
        kind = node.get("type")
        if isinstance(kind, list):
            return " or ".join(self.kind({**node, "type": k}, depth) for k in kind)
        if kind == "array" or (kind is None and ("items" in node or "prefixItems" in node)):
            return self._list_kind(node, depth)
        if _is_object(node):
            return self._object_kind(node, depth)
        if isinstance(kind, str):
            name = _TYPE_NAMES.get(kind, kind)
            fmt = node.get("format")
            return f"{name} ({fmt})" if isinstance(fmt, str) and kind == "string" else name
        if node.get("not") is not None and len(node) == 1:
            return "any JSON value except " + (self.kind(self.resolve(node["not"]), depth + 1) or "that")
        return "any JSON value" if not node else ""

    def _list_kind(self, node: Mapping[str, Any], depth: int) -> str:
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            parts = [self.kind(self.resolve(p), depth + 1) or "any value" for p in prefix]
            return "list of " + str(len(parts)) + ": [" + ", ".join(parts) + "]"
        items = self.resolve(node.get("items"))
        if not items:
            return "list"
        inner = self.kind(items, depth + 1)
        if _is_object(items) and items.get("properties"):
            return "list of objects, each with these keys"
        return f"list of {_plural(inner)}" if inner else "list"

    def _object_kind(self, node: Mapping[str, Any], depth: int) -> str:
        if node.get("properties"):
            return "object with these keys"
        extra = node.get("additionalProperties")
        patterns = node.get("patternProperties")
        if isinstance(patterns, Mapping) and patterns:
            pattern, value_schema = next(iter(patterns.items()))
            value = self.kind(self.resolve(value_schema), depth + 1)
            return f"object mapping names matching /{pattern}/ to {_plural(value) or 'values'}"
        if isinstance(extra, Mapping) and extra:
            value = self.kind(self.resolve(extra), depth + 1)
            return f"object mapping names to {_plural(value)}" if value else "object"
        return "object"

    @staticmethod
    def facts(node: Mapping[str, Any]) -> str:
        """The description, then bounds, pattern and the default."""
        parts: list[str] = []
        description = node.get("description")
        if isinstance(description, str) and description.strip():
            parts.append(description.strip())
        bounds = []
        for key, word, unit in (
            ("minimum", "at least", ""),
            ("exclusiveMinimum", "more than", ""),
            ("maximum", "at most", ""),
            ("exclusiveMaximum", "less than", ""),
            ("multipleOf", "a multiple of", ""),
            ("minLength", "at least", " characters"),
            ("maxLength", "at most", " characters"),
            ("minItems", "at least", " items"),
            ("maxItems", "at most", " items"),
            ("minProperties", "at least", " keys"),
            ("maxProperties", "at most", " keys"),
        ):
            value = node.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds.append(f"{word} {value}{unit}")
        if node.get("uniqueItems") is True:
            bounds.append("no duplicates")
        pattern = node.get("pattern")
        if isinstance(pattern, str) and len(pattern) <= _MAX_PATTERN:
            bounds.append(f"matching /{pattern}/")
        if bounds:
            parts.append("; ".join(bounds))
        rules = _rules(node)
        if rules:
            parts.append(rules)
        if "default" in node and node["default"] is not None:
            parts.append(f"Default: {json.dumps(node['default'], ensure_ascii=False)}")
        return ". ".join([*(p.rstrip(".") for p in parts[:-1]), *parts[-1:]])


def _rules(node: Mapping[str, Any]) -> str:
    found = {k: node[k] for k in _UNDESCRIBED if k in node and not (k == "not" and len(node) == 1)}
    if not found:
        return ""
    return "Also: " + json.dumps(found, ensure_ascii=False, separators=(",", ":"))


def _compact_json(node: Mapping[str, Any]) -> str:
    """A schema fragment past the depth limit, as compact JSON (without our own markers)."""
    clean = {k: v for k, v in node.items() if not k.startswith("$__")}
    return json.dumps(clean.get("properties", clean), ensure_ascii=False, separators=(",", ":"))


def _plural(kind: str) -> str:
    if kind in ("string", "integer", "number", "object", "list"):
        return kind + "s"
    if kind.startswith("string ("):
        return "strings " + kind[len("string ") :]
    return kind
