"""The preflight rules per target, as pure functions ``(schema, variant) -> PreflightReport``.

Sources (each rule quotes its vendor's documented subset):

- OpenAI "Structured Outputs" -> "Supported schemas": types string/number/boolean/integer/object/
  array/enum/anyOf; string ``pattern`` and ``format`` (date-time, time, date, duration, email,
  hostname, ipv4, ipv6, uuid); number ``multipleOf``/``maximum``/``exclusiveMaximum``/``minimum``/
  ``exclusiveMinimum``; array ``minItems``/``maxItems``; the root an object, not ``anyOf``; every
  field required (optional = a union with null); ``additionalProperties: false`` on every object;
  ``$defs``/``$ref`` (recursion included); at most 5000 properties, 10 levels of nesting and 1000
  enum values.
- Gemini ``responseSchema``: an OpenAPI 3.0 Schema subset (type, format, title, description,
  nullable, enum of strings, items, min/maxItems, properties, required, min/maxProperties,
  min/maxLength, pattern, anyOf, propertyOrdering, default, minimum, maximum); no ``$ref``.
  ``responseJsonSchema`` takes JSON Schema ($defs/$ref, anyOf/oneOf, prefixItems,
  additionalProperties, enum, const...).
- Anthropic / Bedrock tools: ``input_schema`` / ``inputSchema.json`` is JSON Schema whose root is
  ``"type": "object"``.
- llama.cpp ``json-schema-to-grammar``: local ``$ref``, anyOf/oneOf/allOf, enum/const, min/max
  items and length, integer bounds, ``pattern`` only as ``^...$`` without lookaround or
  backreferences; other keywords are ignored (not enforced).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from instructor_py.common.json_path import json_path
from instructor_py.schema.preflight import PreflightIssue, PreflightReport

__all__ = [
    "anthropic_tools",
    "bedrock_tools",
    "gemini_response_json_schema",
    "gemini_response_schema",
    "llama_cpp_server",
    "openai_strict",
]

Node = dict[str, Any]
Path = tuple[Any, ...]

_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
                  "propertyNames", "unevaluatedProperties")
_CHECKED_AFTER = "dropped from the wire; your schema still checks the answer"


class _Pass:
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


_SILENT = ("$schema", "$id", "$comment")
"""Annotations dropped from the wire without a word (no provider needs them)."""


def _walk(node: Any, path: Path, visit: Any) -> Any:
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
                sub[name] = _walk(sub[name], (*path, key, name), visit)
    for key in _SUBSCHEMA_LISTS:
        sub = node.get(key)
        if isinstance(sub, list):
            node[key] = [_walk(item, (*path, key, i), visit) for i, item in enumerate(sub)]
    for key in _SUBSCHEMA_ONE:
        if isinstance(node.get(key), dict):
            node[key] = _walk(node[key], (*path, key), visit)
    return node


def _remote_refs(p: _Pass) -> None:
    def visit(node: Node, path: Path) -> Node:
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            p.refuse(path, "$ref", f"points outside the schema ({ref[:60]!r})",
                     "inline the referenced schema under $defs and use '#/$defs/Name'")
        return node

    _walk(p.root, (), visit)


def _types(node: Any) -> list[str]:
    if not isinstance(node, Mapping):
        return []
    t = node.get("type")
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def _is_nullable(node: Any) -> bool:
    if not isinstance(node, Mapping):
        return node is True
    if "null" in _types(node) or node.get("nullable") is True:
        return True
    if None in (node.get("enum") or ()):
        return True
    return any(isinstance(s, Mapping) and _is_nullable(s) for s in node.get("anyOf") or ())


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


def _merge_all_of(p: _Pass, node: Node, path: Path) -> Node:
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


def _inline_refs(p: _Pass, fix: str) -> None:
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


def _root_object(p: _Pass, what: str) -> None:
    root = p.root
    if "object" in _types(root):
        return
    if "type" not in root and isinstance(root.get("properties"), Mapping):
        root["type"] = "object"
        p.rewrite((), "type", 'added "type": "object" at the root')
        return
    p.refuse((), "type", f"{what} needs an object at the root, got {root.get('type', 'no type')!r}"
             + (" with anyOf" if "anyOf" in root else ""),
             "wrap the value in an object, e.g. {\"value\": <your schema>} (Sequence.of / a "
             "wrapper model does this)")


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
    p = _Pass("openai", variant, schema)
    _remote_refs(p)
    state = {"properties": 0, "enum": 0, "depth": 0}

    def visit(node: Node, path: Path) -> Node:
        for key in _SILENT:
            node.pop(key, None)
        if "allOf" in node:
            node = _merge_all_of(p, node, path)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            p.rewrite(path, "oneOf", "sent as anyOf (strict mode has no oneOf)")
        if node.get("nullable") is True:
            node.pop("nullable")
            if "type" in node and "null" not in _types(node):
                node["type"] = [*_types(node), "null"]
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
                p.rewrite(path, key, _CHECKED_AFTER)
        fmt = node.get("format")
        if fmt is not None and fmt not in _OPENAI_FORMATS:
            node.pop("format")
            p.rewrite(path, "format", f"format {fmt!r} is not supported; {_CHECKED_AFTER}")
        if not any(k in node for k in _TYPED):
            p.refuse(path, "type", "strict mode needs a type at every node (this one takes any "
                     "value)", "give the field a type, or " + _OPENAI_FIX)
        if isinstance(node.get("enum"), list):
            state["enum"] += len(node["enum"])
        depth = sum(1 for part in path if part == "properties")
        state["depth"] = max(state["depth"], depth)
        if "object" in _types(node) or isinstance(node.get("properties"), Mapping):
            _openai_object(p, node, path, state)
        return node

    p.root = _walk(p.root, (), visit)
    if "anyOf" in p.root and "type" not in p.root:
        p.refuse((), "anyOf", "the root must be an object, not anyOf",
                 "wrap the union in an object field")
    else:
        _root_object(p, "OpenAI strict mode")
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


def _openai_object(p: _Pass, node: Node, path: Path, state: dict[str, int]) -> None:
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
        nullable = [n for n in missing if isinstance(props, Mapping) and _is_nullable(props[n])]
        detail = f"made required: {', '.join(missing)} (strict mode has no optional fields"
        detail += "; null stands for absent)" if len(nullable) == len(missing) else (
            "; the model always fills them, and your schema checks the value)")
        p.rewrite(path, "required", detail)


# --- Anthropic / Bedrock tools -----------------------------------------------------------------


def anthropic_tools(schema: Mapping[str, Any], variant: str = "tools") -> PreflightReport:
    """Anthropic Messages ``tools[].input_schema``: JSON Schema with an object root."""
    p = _Pass("anthropic", variant, schema)
    _remote_refs(p)
    _root_object(p, "Anthropic's tool input_schema")
    return p.report(schema)


def bedrock_tools(schema: Mapping[str, Any], variant: str = "tools") -> PreflightReport:
    """Bedrock Converse ``toolSpec.inputSchema.json``: JSON Schema with an object root."""
    p = _Pass("bedrock", variant, schema)
    _remote_refs(p)
    _root_object(p, "Bedrock's toolSpec inputSchema")
    return p.report(schema)


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
    p = _Pass("gemini", variant, schema)
    _remote_refs(p)
    _inline_refs(p, "make the schema non-recursive, or " + _GEMINI_FIX)

    def visit(node: Node, path: Path) -> Node:
        for key in _SILENT:
            node.pop(key, None)
        if "allOf" in node:
            node = _merge_all_of(p, node, path)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            p.rewrite(path, "oneOf", "sent as anyOf")
        types = _types(node)
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
        if isinstance(branches, list) and any(_types(b) == ["null"] for b in branches):
            others = [b for b in branches if _types(b) != ["null"]]
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
                p.rewrite(path, "const", _CHECKED_AFTER)
        enum = node.get("enum")
        if isinstance(enum, list) and not all(isinstance(v, str) for v in enum if v is not None):
            node.pop("enum")
            p.rewrite(path, "enum", "responseSchema enums are strings only; " + _CHECKED_AFTER)
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
                p.rewrite(path, key, _CHECKED_AFTER)
        fmt = node.get("format")
        if fmt is not None and fmt not in _GEMINI_FORMATS.get(str(node.get("type")), ()):
            node.pop("format")
            p.rewrite(path, "format", f"format {fmt!r} is not in the OpenAPI subset; "
                      + _CHECKED_AFTER)
        if not any(k in node for k in ("type", "anyOf", "enum")):
            p.refuse(path, "type", "responseSchema needs a type at every node (this one takes "
                     "any value)", "give the field a type, or " + _GEMINI_FIX)
        if node.get("type") == "object" and not node.get("properties"):
            p.refuse(path, "properties", "responseSchema needs at least one property on an "
                     "object", "give the object named fields, or " + _GEMINI_FIX)
        return node

    p.root = _walk(p.root, (), visit)
    return p.report(schema)


def gemini_response_json_schema(
    schema: Mapping[str, Any], variant: str = "responseJsonSchema"
) -> PreflightReport:
    """Gemini ``generationConfig.responseJsonSchema``: a JSON Schema subset with $defs/$ref."""
    p = _Pass("gemini", variant, schema)
    _remote_refs(p)
    if "definitions" in p.root and "#/definitions/" in repr(p.root):
        _inline_refs(p, "move 'definitions' to '$defs'")

    def visit(node: Node, path: Path) -> Node:
        for key in ("$schema", "$comment"):
            node.pop(key, None)
        if "allOf" in node:
            node = _merge_all_of(p, node, path)
        for key in sorted(set(node) - _GEMINI_JSON_KEYS):
            node.pop(key)
            p.rewrite(path, key, _CHECKED_AFTER)
        return node

    p.root = _walk(p.root, (), visit)
    return p.report(schema)


# --- llama.cpp server ------------------------------------------------------------------------

_LLAMA_IGNORED = frozenset({"not", "if", "then", "else", "dependentRequired", "dependentSchemas",
                            "contains", "minContains", "maxContains", "uniqueItems",
                            "patternProperties", "propertyNames", "multipleOf",
                            "unevaluatedProperties", "minProperties", "maxProperties"})
_LOOKAROUND = re.compile(r"\(\?[=!<]|\\[1-9]|\\k<|\(\?P[=<]")


def llama_cpp_server(schema: Mapping[str, Any], variant: str = "json_schema") -> PreflightReport:
    """llama.cpp server ``json_schema`` / ``response_format`` (json-schema-to-grammar)."""
    p = _Pass("llama-cpp-server", variant, schema)
    _remote_refs(p)

    def visit(node: Node, path: Path) -> Node:
        for key in sorted(set(node) & _LLAMA_IGNORED):
            node.pop(key)
            p.rewrite(path, key, "json-schema-to-grammar ignores it; " + _CHECKED_AFTER)
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            if _LOOKAROUND.search(pattern):
                node.pop("pattern")
                p.rewrite(path, "pattern", "lookaround/backreference the grammar cannot express; "
                          + _CHECKED_AFTER)
            elif not (pattern.startswith("^") and pattern.endswith("$")):
                head = "" if pattern.startswith("^") else ".*"
                tail = "" if pattern.endswith("$") and not pattern.endswith("\\$") else ".*"
                body = pattern.removeprefix("^")
                if tail == "":
                    body = body.removesuffix("$")
                node["pattern"] = f"^{head}({body}){tail}$"
                p.rewrite(path, "pattern", "anchored as ^...$ (the grammar needs anchors; same "
                          "meaning as the unanchored search)")
        return node

    p.root = _walk(p.root, (), visit)
    return p.report(schema)
