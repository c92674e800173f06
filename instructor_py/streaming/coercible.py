"""Does a value the strict incremental parser completed need the tolerant parser's coercion?

Strict JSON may still need reading: an enum value in another case (``"Active"``), a number
written as a string (``"42"``), a key that differs in case or separators (``firstName`` for
``first_name``). The strict streaming path would show such a value as written; the final answer
is coerced. :class:`CoercionWatch` looks at each completed value (the parser's
:class:`~instructor_py.streaming.json_events.ValueCompleted` events) against the schema node at
its path and says when the tolerant reading is needed: a leaf that does not fit its node exactly
but that the tolerant coercer reads, or an object key that only matches a property after
normalisation. A value that fits no reading is left alone (the streaming check, if any, or the
final validation reports it).

Nodes are looked up once per path pattern (list indexes folded), so the cost per value is a dict
lookup and a type test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from instructor_py.pipeline.tolerant.coerce import Ambiguity, Coercer, Miss
from instructor_py.pipeline.tolerant.loose import same
from instructor_py.pipeline.tolerant.schema import SchemaView, key_norm
from instructor_py.streaming.json_events import ParseEvent, Path, ValueCompleted

__all__ = ["CoercionWatch"]

MAX_NODES: Final = 8
"""Schema nodes followed for one path (union branches)."""
MAX_PATTERNS: Final = 4096


class CoercionWatch:
    """Watches completed values of one document against ``schema`` (module docstring)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._view = SchemaView(schema)
        self._root = schema
        self._nodes: dict[tuple[Any, ...], list[Any]] = {}

    def needs_coercion(self, events: list[ParseEvent]) -> bool:
        """Whether any of ``events`` completed a value the tolerant reading would change."""
        for event in events:
            if type(event) is not ValueCompleted:
                continue
            value = event.value
            if isinstance(value, list):
                continue
            nodes = self._nodes_at(event.path)
            if not nodes:
                continue
            if isinstance(value, dict):
                if self._renamed_key(value, nodes):
                    return True
            elif not any(self._exact(value, n, 0) for n in nodes) and self._coercible(value, nodes):
                return True
        return False

    # -- schema lookups ----------------------------------------------------------------------

    def _nodes_at(self, path: Path) -> list[Any]:
        pattern = tuple(-1 if isinstance(p, int) else p for p in path)
        nodes = self._nodes.get(pattern)
        if nodes is None:
            if len(self._nodes) >= MAX_PATTERNS:
                return []
            nodes = self._walk(pattern)
            self._nodes[pattern] = nodes
        return nodes

    def _walk(self, pattern: tuple[Any, ...]) -> list[Any]:
        nodes = self._expand(self._root)
        for step in pattern:
            following: list[Any] = []
            for node in nodes:
                resolved = self._view.resolve(node)
                if not isinstance(resolved, Mapping):
                    continue
                if step == -1:
                    child = resolved.get("items")
                else:
                    props = resolved.get("properties")
                    child = props.get(step) if isinstance(props, Mapping) else None
                    if child is None:
                        child = resolved.get("additionalProperties")
                if child is not None and not isinstance(child, bool):
                    following.extend(self._expand(child))
            nodes = following[:MAX_NODES]
            if not nodes:
                return []
        return nodes

    def _expand(self, node: Any, depth: int = 0) -> list[Any]:
        """``node``, or the branches of a union (flattened)."""
        info = self._view.info(node)
        if info.kind != "union" or depth > 4:
            return [node]
        out: list[Any] = []
        for branch in info.branches:
            out.extend(self._expand(branch, depth + 1))
        return out[:MAX_NODES]

    # -- checks --------------------------------------------------------------------------------

    def _exact(self, value: Any, node: Any, depth: int) -> bool:
        info = self._view.info(node)
        kind = info.kind
        if kind == "any":
            return True
        if kind == "choice":
            return any(same(value, m) for m in info.members)
        if kind == "union":
            return depth < 4 and any(self._exact(value, b, depth + 1) for b in info.branches)
        if kind != "typed":
            return False
        types = info.types
        if types is None:
            return True
        if isinstance(value, bool):
            return "boolean" in types
        if isinstance(value, int):
            return "integer" in types or "number" in types
        if isinstance(value, float):
            return "number" in types or ("integer" in types and value.is_integer())
        if isinstance(value, str):
            return "string" in types
        return value is None and "null" in types

    def _coercible(self, value: Any, nodes: list[Any]) -> bool:
        for node in nodes:
            try:
                Coercer(self._view, 256).coerce(value, node, [])
            except (Miss, Ambiguity, RecursionError):
                continue
            return True
        return False

    def _renamed_key(self, value: dict[str, Any], nodes: list[Any]) -> bool:
        for node in nodes:
            resolved = self._view.resolve(node)
            if not isinstance(resolved, Mapping):
                continue
            props = resolved.get("properties")
            if not isinstance(props, Mapping):
                continue
            keys = self._view.key_map(resolved)
            for key in value:
                if key not in props and key_norm(key) in keys:
                    return True
        return False
