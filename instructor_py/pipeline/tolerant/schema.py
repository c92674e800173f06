"""Reading a JSON schema the way the coercer needs it: ``$ref``s followed, ``allOf`` merged,
the allowed types, and object keys normalised for matching.

Only local references (``#/$defs/X``, ``#/definitions/X``, any ``#/...`` pointer) are followed;
recursion is fine because references are followed lazily, one node at a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["JSON_TYPES", "NodeInfo", "ObjectPlan", "SchemaView", "key_norm"]

JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
Node = Mapping[str, Any] | bool

_KEY_JUNK = re.compile(r"[\s_\-.]+")


def key_norm(key: str) -> str:
    """A key without case and separators: ``firstName``, ``first_name``, ``First-Name`` ->
    ``firstname``."""
    return _KEY_JUNK.sub("", key).casefold()


class NodeInfo(NamedTuple):
    """What the coercer asks of one schema node, worked out once. ``kind`` is ``any`` (no
    constraint), ``never`` (``false``), ``choice`` (``enum``/``const``: ``members``), ``union``
    (``anyOf``/``oneOf``: ``branches``) or ``typed`` (``types``; ``None`` when not stated).
    (A named tuple, not a dataclass: one is made per schema node on every parse.)"""

    node: Mapping[str, Any]
    kind: str
    members: list[Any]
    branches: list[Any]
    types: frozenset[str] | None


class ObjectPlan(NamedTuple):
    """An object node's lookups for the coercer (:meth:`SchemaView.object_plan`)."""

    props: Mapping[str, Any]
    required: list[str]
    extra: Any
    keys: dict[str, list[str]]


_ANY = NodeInfo({}, "any", [], [], None)
_NEVER = NodeInfo({}, "never", [], [], None)


class SchemaView:
    """A schema and the lookups the coercer makes on its nodes (cached per node)."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._resolved: dict[int, Mapping[str, Any] | bool] = {}
        self._keys: dict[int, dict[str, list[str]]] = {}
        self._plans: dict[int, tuple[Any, ObjectPlan]] = {}
        self.infos: dict[int, tuple[Any, NodeInfo]] = {}
        """id(node) -> (node, its NodeInfo): :meth:`info`'s cache (the coercer reads it inline)."""

    def info(self, node: Any) -> NodeInfo:
        """The :class:`NodeInfo` of ``node`` (cached; the node is kept alive with it)."""
        cached = self.infos.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        resolved = self.resolve(node)
        if resolved is True:
            info = _ANY
        elif resolved is False:
            info = _NEVER
        elif "const" in resolved:
            info = NodeInfo(resolved, "choice", [resolved["const"]], [], None)
        elif isinstance(resolved.get("enum"), list):
            info = NodeInfo(resolved, "choice", resolved["enum"], [], None)
        else:
            branches = resolved.get("anyOf")
            if not isinstance(branches, list) or not branches:
                branches = resolved.get("oneOf")
            if isinstance(branches, list) and branches:
                info = NodeInfo(resolved, "union", [], branches, None)
            else:
                info = NodeInfo(resolved, "typed", [], [], self.types(resolved))
        self.infos[id(node)] = (node, info)
        return info

    def resolve(self, node: Any) -> Mapping[str, Any] | bool:
        """``node`` with its ``$ref`` chain followed and a lone ``allOf`` merged in."""
        if isinstance(node, bool):
            return node
        if type(node) is not dict and not isinstance(node, Mapping):
            return True
        cached = self._resolved.get(id(node))
        if cached is not None:
            return cached
        out: Mapping[str, Any] = node
        if "$ref" not in node and "allOf" not in node:  # (most nodes: nothing to follow)
            self._resolved[id(node)] = out
            return out
        seen: set[str] = set()
        while isinstance(out, Mapping) and isinstance(out.get("$ref"), str):
            ref = out["$ref"]
            if ref in seen:
                break
            seen.add(ref)
            target = self._pointer(ref)
            if target is None:
                break
            rest = {k: v for k, v in out.items() if k != "$ref"}
            out = {**target, **rest} if rest else target
        if isinstance(out, Mapping) and isinstance(out.get("allOf"), list):
            out = self._merge_all_of(out)
        self._resolved[id(node)] = out
        return out

    def _merge_all_of(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            sub = self.resolve(part)
            if not isinstance(sub, Mapping):
                continue
            for key, value in sub.items():
                if key == "properties" and isinstance(merged.get("properties"), Mapping):
                    merged["properties"] = {**merged["properties"], **value}
                elif key == "required" and isinstance(merged.get("required"), list):
                    merged["required"] = [*merged["required"], *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return None
        node: Any = self.root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    @staticmethod
    def types(node: Mapping[str, Any]) -> frozenset[str] | None:
        """The JSON types ``node`` allows (``None``: any), inferred from its keywords when it has
        no ``type``."""
        declared = node.get("type")
        if isinstance(declared, str):
            return frozenset({declared})
        if isinstance(declared, list):
            return frozenset(t for t in declared if isinstance(t, str))
        if "properties" in node or "additionalProperties" in node or "required" in node:
            return frozenset({"object"})
        if "items" in node or "prefixItems" in node:
            return frozenset({"array"})
        return None

    def object_plan(self, node: Mapping[str, Any]) -> ObjectPlan:
        """What fitting an object to ``node`` needs: its properties, required names, the schema
        of other keys (``additionalProperties``; ``True`` when ``patternProperties`` are given)
        and :meth:`key_map` (worked out once per node)."""
        cached = self._plans.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        props = node.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = [r for r in node.get("required", ()) if isinstance(r, str)]
        extra = node.get("additionalProperties", True)
        if "patternProperties" in node and extra is False:
            extra = True
        plan = ObjectPlan(props, required, extra, self.key_map(node))
        self._plans[id(node)] = (node, plan)
        return plan

    def key_map(self, node: Mapping[str, Any]) -> dict[str, list[str]]:
        """Normalised key -> the property names of ``node`` that normalise to it (or whose
        ``"x-aliases"``, a pydantic field's other ``AliasChoices`` names, do)."""
        cached = self._keys.get(id(node))
        if cached is not None:
            return cached
        out: dict[str, list[str]] = {}
        props = node.get("properties")
        if isinstance(props, Mapping):
            for name, sub in props.items():
                out.setdefault(key_norm(name), []).append(name)
                aliases = sub.get("x-aliases") if isinstance(sub, Mapping) else None
                for alias in aliases if isinstance(aliases, list) else ():
                    if isinstance(alias, str) and name not in out.setdefault(key_norm(alias), []):
                        out[key_norm(alias)].append(name)
        self._keys[id(node)] = out
        return out

    def scalar_possible(self, node: Any, depth: int = 0) -> bool:
        """Whether ``node`` can be satisfied by a scalar (string, number, boolean, null, enum)."""
        resolved = self.resolve(node)
        if isinstance(resolved, bool) or depth > 16:
            return bool(resolved)
        if "enum" in resolved or "const" in resolved:
            return True
        for key in ("anyOf", "oneOf"):
            branches = resolved.get(key)
            if isinstance(branches, list):
                return any(self.scalar_possible(b, depth + 1) for b in branches)
        types = self.types(resolved)
        return types is None or bool(types - {"object", "array"})
