"""Hostile schemas: what a JSON schema may not do to the process that uses it.

:func:`check_schema` runs when a response model or a local constraint is built (before any other
code walks the schema, so a 10,000-level schema cannot overflow the stack). It walks the schema
iteratively and refuses, each with a typed error that says what to change:

- a ``$ref``/``$dynamicRef`` that leaves the schema (a URL, another file):
  :class:`~instructor_py.common.errors.RemoteReferenceError`. A schema never causes network or file
  access (the validator's registry also refuses to retrieve: :mod:`instructor_py.schema.safe_validator`);
- a ``$ref`` to nothing, or a cycle of references that never reaches a value (``A -> A``,
  ``A -> allOf[B] -> A``), which would recurse forever while validating:
  :class:`~instructor_py.common.errors.InvalidSchemaError`;
- a schema past :class:`SchemaLimits` (values, nesting depth, ``enum`` length):
  :class:`~instructor_py.common.errors.SchemaLimitError`;
- a ``pattern``/``patternProperties`` key that no engine of :mod:`instructor_py.schema.safe_regex` runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from instructor_py.common.errors import InvalidSchemaError, RemoteReferenceError, SchemaLimitError
from instructor_py.schema.safe_regex import compile_pattern


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """Limits on a schema document. ``max_nodes``: JSON values in it (objects, arrays, scalars);
    ``max_depth``: nesting of objects and arrays; ``max_enum``: entries of one ``enum``."""

    max_nodes: int = 50_000
    max_depth: int = 128
    max_enum: int = 10_000


DEFAULT_LIMITS = SchemaLimits()

# keywords whose value is a schema / a map of name -> schema / a list of schemas (drafts 4-2020-12)
_SCHEMA = frozenset(
    {
        "additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems",
        "not", "if", "then", "else", "contains", "propertyNames", "contentSchema", "items",
    }
)  # fmt: skip
_SCHEMA_MAP = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
_SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
# applicators that apply a subschema to the same instance (no progress into the value)
_IN_PLACE = frozenset({"not", "if", "then", "else"})
_IN_PLACE_LIST = frozenset({"allOf", "anyOf", "oneOf"})
_IN_PLACE_MAP = frozenset({"dependentSchemas"})


def check_schema(
    schema: Any, *, limits: SchemaLimits = DEFAULT_LIMITS, where: str = "the schema"
) -> None:
    """Refuse a hostile schema (see the module docstring). Iterative: never recurses."""
    if isinstance(schema, Mapping) and not isinstance(schema, dict):
        schema = dict(schema)
    _Walk(schema, limits, where).run()


class _Walk:
    def __init__(self, schema: Any, limits: SchemaLimits, where: str) -> None:
        self.schema = schema
        self.limits = limits
        self.where = where
        self.refs: list[tuple[str, str, str]] = []  # (path of the schema node, base URI, ref)
        self.resources: dict[str, str] = {"": ""}  # resource URI -> path of its schema
        self.anchors: dict[tuple[str, str], str] = {}  # (resource URI, anchor) -> path
        self.edges: dict[str, list[str]] = {}  # in-place applications: path -> paths

    def run(self) -> None:
        nodes = 0
        # (value, path, depth, role, base URI); role: schema | map | list | data
        stack: list[tuple[Any, str, int, str, str]] = [(self.schema, "", 1, "schema", "")]
        while stack:
            value, path, depth, role, base = stack.pop()
            nodes += 1
            if nodes > self.limits.max_nodes:
                raise SchemaLimitError(
                    f"{self.where} has more than {self.limits.max_nodes} values (nodes); split "
                    "it or simplify it (SchemaLimits.max_nodes)."
                )
            if not isinstance(value, dict | list):
                continue
            if depth > self.limits.max_depth:
                raise SchemaLimitError(
                    f"{self.where} nests deeper than {self.limits.max_depth} levels at "
                    f"{path or '/'}; flatten it or use $defs with $ref (SchemaLimits.max_depth)."
                )
            if isinstance(value, list):
                child = "schema" if role == "list" else "data"
                stack.extend((v, f"{path}/{i}", depth + 1, child, base) for i, v in enumerate(value))
            elif role in ("map", "data"):
                child = "schema" if role == "map" else "data"
                stack.extend((v, f"{path}/{k}", depth + 1, child, base) for k, v in value.items())
            else:
                base = self._schema_node(value, path, base)
                for key, v in value.items():
                    stack.append((v, f"{path}/{key}", depth + 1, _role(key, v), base))
        self._check_refs()
        self._check_cycles()

    def _schema_node(self, node: dict[str, Any], path: str, base: str) -> str:
        node_id = node.get("$id")
        if isinstance(node_id, str):
            base = urldefrag(urljoin(base, node_id)).url
            self.resources[base] = path
        for anchor_key in ("$anchor", "$dynamicAnchor"):
            anchor = node.get(anchor_key)
            if isinstance(anchor, str):
                self.anchors[(base, anchor)] = path
        for key in _REF_KEYS:
            ref = node.get(key)
            if isinstance(ref, str):
                self.refs.append((path, base, ref))
        edges = [f"{path}/{k}" for k in _IN_PLACE if isinstance(node.get(k), dict)]
        for key in _IN_PLACE_LIST:
            if isinstance(node.get(key), list):
                edges += [f"{path}/{key}/{i}" for i in range(len(node[key]))]
        for key in _IN_PLACE_MAP:
            if isinstance(node.get(key), dict):
                edges += [f"{path}/{key}/{k}" for k in node[key]]
        if edges:
            self.edges.setdefault(path, []).extend(edges)
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) > self.limits.max_enum:
            raise SchemaLimitError(
                f"{self.where} has an enum of {len(enum)} values at {path or '/'}; the limit is "
                f"{self.limits.max_enum} (SchemaLimits.max_enum). Use a pattern or a plain string."
            )
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            compile_pattern(pattern)
        pattern_properties = node.get("patternProperties")
        if isinstance(pattern_properties, dict):
            for key in pattern_properties:
                compile_pattern(key)
        return base

    def _check_refs(self) -> None:
        for path, base, ref in self.refs:
            where = f"{path}/$ref"
            target_path: str | None
            target, fragment = urldefrag(urljoin(base, ref))
            if target not in self.resources:
                raise RemoteReferenceError(
                    f"{self.where} has a $ref to {ref!r} at {where}, outside the schema; schemas "
                    "never cause network or file access. Inline the referenced schema under "
                    "$defs and point to it with '#/$defs/Name'."
                )
            resource = self.resources[target]
            if not fragment or fragment.startswith("/"):
                parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:]]
                found = _resolve(self.schema, resource, parts)
                target_path = resource + "".join(f"/{p}" for p in parts)
            else:
                target_path = self.anchors.get((target, fragment))
                found = target_path is not None
            if not found or target_path is None:
                raise InvalidSchemaError(
                    f"{self.where} has a $ref to {ref!r} at {where} that points to nothing in the "
                    "schema; define the target (e.g. under $defs) or fix the reference."
                )
            self.edges.setdefault(path, []).append(target_path)

    def _check_cycles(self) -> None:
        """A cycle of in-place applications and references: validating it never ends."""
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for start in list(self.edges):
            if start in state:
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            state[start] = 1
            while stack:
                node, i = stack[-1]
                nexts = self.edges.get(node, [])
                if i == len(nexts):
                    state[node] = 2
                    stack.pop()
                    continue
                stack[-1] = (node, i + 1)
                nxt = nexts[i]
                if state.get(nxt) == 1:
                    raise InvalidSchemaError(
                        f"{self.where} has a cycle of references at {nxt or '/'} that never "
                        "reaches a value (validating it would recurse forever); put the "
                        "recursion under properties or items."
                    )
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))


def _resolve(schema: Any, resource_path: str, parts: list[str]) -> bool:
    node = schema
    for part in [*resource_path.split("/")[1:], *parts]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _role(key: str, value: Any) -> str:
    if key in _SCHEMA_LIST and isinstance(value, list):
        return "list"
    if key in _SCHEMA_MAP and isinstance(value, dict):
        return "map"
    if key in _SCHEMA:
        return "schema"
    return "data"


__all__ = ["DEFAULT_LIMITS", "SchemaLimits", "check_schema"]
