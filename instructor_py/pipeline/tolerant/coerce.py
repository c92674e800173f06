"""Fitting a loose tree (:mod:`.syntax`) to a JSON schema: plain JSON data out, each coercion
recorded, ambiguity refused.

A value that already has the type the schema asks for is taken as it is (no repair). Otherwise
the coercions that could apply are tried; exactly one must succeed (two that succeed with
different values are :class:`Ambiguity`). For ``anyOf``/``oneOf`` every branch is tried and the
one needing the fewest repairs wins; two branches tied with different values are ambiguous.
Object keys match property names exactly first, then without case and separators
(``firstName`` = ``first_name``); a ``null`` for an optional field that cannot be null is
dropped. The work is bounded by a budget proportional to the answer, so nested unions cannot
make it explode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final

from instructor_py.pipeline.failures import json_path
from instructor_py.pipeline.tolerant.loose import (
    UNDEFINED,
    Num,
    number_of,
    plain,
    same,
    show,
    text_of,
)
from instructor_py.pipeline.tolerant.records import Repair
from instructor_py.pipeline.tolerant.scalars import (
    NULL_WORDS,
    Refused,
    Unreadable,
    bool_in_text,
    match_enum,
    read_bool,
    read_number,
)
from instructor_py.pipeline.tolerant.schema import NodeInfo, SchemaView, key_norm
from instructor_py.pipeline.tolerant.syntax import Reader, TooDeep

__all__ = ["Ambiguity", "Coercer", "Miss", "plain"]

MAX_PATH: Final = 160
_LIST_SEPARATORS: Final = (",", ";", "\n", " and ")


class Miss(Exception):
    """The value does not fit the schema node (``path``: where)."""

    def __init__(self, path: list[str | int], reason: str) -> None:
        super().__init__(reason)
        self.path = json_path(path)
        self.reason = reason


class Ambiguity(Exception):
    """The value fits the schema node in more than one way, or only by losing information."""

    def __init__(self, path: list[str | int], reason: str) -> None:
        super().__init__(reason)
        self.path = json_path(path)
        self.reason = reason


class Coercer:
    """One fitting of one loose value to one schema. ``repairs`` lists what was coerced.
    ``partial`` (a streaming prefix): missing required fields are not an error."""

    def __init__(self, view: SchemaView, budget: int, *, partial: bool = False) -> None:
        self.view = view
        self.budget = budget
        self.partial = partial
        self.wrap_scalars = True
        self.repairs: list[Repair] = []
        self._infos = view.infos

    def run(self, value: Any, node: Any) -> Any:
        return self.coerce(value, node, [])

    def _add(self, path: list[str | int], kind: str, detail: str) -> None:
        self.repairs.append(Repair(json_path(path), kind, detail))

    def _attempt(self, fn: Callable[[], Any]) -> tuple[Any, list[Repair]]:
        """Run ``fn`` and take back the repairs it made (raises what ``fn`` raises)."""
        mark = len(self.repairs)
        try:
            value = fn()
            return value, self.repairs[mark:]
        finally:
            del self.repairs[mark:]

    def coerce(self, value: Any, node: Any, path: list[str | int]) -> Any:
        self.budget -= 1
        if self.budget < 0 or len(path) > MAX_PATH:
            raise Miss(path, "the answer is too complex to read")
        cached = self._infos.get(id(node))  # (the view's cache, looked up inline: the hot path)
        info = cached[1] if cached is not None and cached[0] is node else self.view.info(node)
        kind = info.kind
        if kind == "typed":
            return self._typed(value, info.node, info.types, path)
        if kind == "any":
            return plain(value)
        if kind == "choice":
            return self._choice(value, info.members, path)
        if kind == "union":
            return self._branches(value, info.branches, path)
        raise Miss(path, "no value is allowed here")

    # -- enums and unions --------------------------------------------------------------------

    def _choice(self, value: Any, members: list[Any], path: list[str | int]) -> Any:
        current = plain(value)
        for member in members:
            if same(current, member):
                return member
        text = text_of(value)
        if text is not None:
            try:
                member, kind = match_enum(text, members)
            except Refused as exc:
                raise Ambiguity(path, str(exc)) from None
            except Unreadable:
                pass
            else:
                self._add(path, kind, f"read {text[:40]!r} as {member!r}")
                return member
        if isinstance(value, Num) and value.raw in members:
            self._add(path, "number_to_string", f"read {value.raw} as the string {value.raw!r}")
            return value.raw
        if isinstance(value, list) and len(value) == 1:
            self._add(path, "list_to_single", "took the only item of a list")
            return self._choice(value[0], members, path)
        allowed = ", ".join(repr(m) for m in members[:8])
        raise Miss(path, f"{show(value)} is not one of {allowed}")

    def _branches(self, value: Any, branches: list[Any], path: list[str | int]) -> Any:
        fits: list[tuple[Any, list[Repair]]] = []
        ambiguity: Ambiguity | None = None
        misses: list[Miss] = []
        for branch in branches:
            try:
                fits.append(self._attempt(partial(self.coerce, value, branch, path)))
            except Ambiguity as exc:
                ambiguity = ambiguity or exc
            except Miss as exc:
                misses.append(exc)
        if not fits:
            if ambiguity is not None:
                raise ambiguity
            raise Miss(path, "; ".join(dict.fromkeys(m.reason for m in misses[:3])))
        fewest = min(len(r) for _, r in fits)
        best = [(v, r) for v, r in fits if len(r) == fewest]
        if fewest and any(not same(v, best[0][0]) for v, _ in best[1:]):
            raise Ambiguity(
                path,
                f"{show(value)} fits several options of the schema with different values",
            )
        self.repairs.extend(best[0][1])
        return best[0][0]

    # -- typed nodes -------------------------------------------------------------------------

    def _typed(
        self,
        value: Any,
        node: Mapping[str, Any],
        types: frozenset[str] | None,
        path: list[str | int],
    ) -> Any:
        if types is None:
            if isinstance(value, dict) and "properties" in node:
                return self._object(value, node, path)
            return plain(value)
        exact = self._exact(value, node, types, path)
        if exact is not _NO:
            return exact
        options: list[tuple[Any, list[Repair]]] = []
        refusal: str | None = None
        for make in self._coercions(value, node, types, path):
            try:
                options.append(self._attempt(make))
            except (Refused, Ambiguity) as exc:
                refusal = refusal or (exc.reason if isinstance(exc, Ambiguity) else str(exc))
            except (Unreadable, Miss):
                continue
        if options:
            first = options[0][0]
            if any(not same(v, first) for v, _ in options[1:]):
                raise Ambiguity(path, f"{show(value)} could be read as several types")
            self.repairs.extend(options[0][1])
            return first
        if refusal is not None:
            raise Ambiguity(path, refusal)
        wanted = " or ".join(sorted(types))
        raise Miss(path, f"expected {wanted}, got {show(value)}")

    def _exact(
        self, value: Any, node: Mapping[str, Any], types: frozenset[str], path: list[str | int]
    ) -> Any:
        taken = _taken_as_is(value, types)  # (the common case; the rules below give the same)
        if taken is not _NO:
            return taken
        if isinstance(value, dict):
            return self._object(value, node, path) if "object" in types else _NO
        if isinstance(value, list):
            return self._array(value, node, path) if "array" in types else _NO
        if isinstance(value, bool):
            return value if "boolean" in types else _NO
        number = number_of(value)
        if number is not None:
            if "number" in types or (
                "integer" in types and (isinstance(number, int) or number.is_integer())
            ):
                return number
            return _NO
        if value is None:
            return None if "null" in types else _NO
        if value is UNDEFINED:
            return None if "null" in types else _NO
        text = text_of(value)
        if text is not None and "string" in types:
            return text
        return _NO

    def _coercions(
        self, value: Any, node: Mapping[str, Any], types: frozenset[str], path: list[str | int]
    ) -> list[Callable[[], Any]]:
        out: list[Callable[[], Any]] = []
        text = text_of(value)
        number = number_of(value)
        if text is not None:
            if types & {"integer", "number"}:
                out.append(lambda: self._from_number_text(text, "number" not in types, path))
            if "boolean" in types:
                out.append(lambda: self._bool(text, path))
            if "null" in types and text.strip().casefold() in ("null", "none"):
                out.append(lambda: self._note(path, None, "null_word", text))
            if types & {"object", "array"} and text.lstrip()[:1] in ("{", "["):
                out.append(lambda: self._json_in_string(text, node, path))
        if number is not None:
            if "string" in types:
                raw = value.raw if isinstance(value, Num) else repr(number)
                out.append(lambda: self._note(path, raw, "number_to_string", raw))
            if "integer" in types and isinstance(number, float) and not number.is_integer():
                out.append(lambda: self._lossy(number, path))
        if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list):
            out.append(lambda: self._unwrap_list(value[0], node, path))
        if "array" in types and not isinstance(value, list) and self.wrap_scalars:
            out.append(lambda: self._wrap(value, node, path))
        return out

    def _bool(self, text: str, path: list[str | int]) -> bool:
        """A yes/no word, or a sentence that starts with one (``"Yes, it is active"``)."""
        try:
            return bool(self._note(path, read_bool(text), "bool_word", text))
        except Unreadable:
            return bool(self._note(path, bool_in_text(text), "bool_in_text", text))

    def _note(self, path: list[str | int], result: Any, kind: str, text: str) -> Any:
        self._add(path, kind, f"read {text[:40]!r} as {result!r}")
        return result

    def _lossy(self, number: float, path: list[str | int]) -> Any:
        raise Ambiguity(path, f"{number!r} is not a whole number; an integer would lose the fraction")

    def _from_number_text(self, text: str, integer: bool, path: list[str | int]) -> Any:
        number, kind = read_number(text, integer)
        self._add(path, kind, f"read {text[:40]!r} as {number!r}")
        return number

    def _json_in_string(self, text: str, node: Mapping[str, Any], path: list[str | int]) -> Any:
        reader = Reader(text)
        try:
            inner = reader.read()
        except TooDeep:
            raise Miss(path, "the string nests too deeply") from None
        reader.skip()
        if reader.broken or reader.open_string or not reader.at_end():
            raise Miss(path, "the string holds no JSON value")
        self._add(path, "json_in_string", "read the JSON inside a string")
        self.repairs.extend(reader.repairs)
        return self._typed(inner, node, self.view.types(node), path)

    def _unwrap_list(self, item: Any, node: Mapping[str, Any], path: list[str | int]) -> Any:
        self._add(path, "list_to_single", "took the only item of a list")
        return self._typed(item, node, self.view.types(node), path)

    def _wrap(self, value: Any, node: Mapping[str, Any], path: list[str | int]) -> Any:
        text = text_of(value)
        if text is not None and any(sep in text for sep in _LIST_SEPARATORS):
            items = self.view.resolve(node.get("items", True))
            if items is True or (
                isinstance(items, Mapping) and "string" in (self.view.types(items) or {"string"})
            ):
                raise Refused(
                    f"a list was expected and {text[:40]!r} may hold several items; "
                    "answer with a JSON array"
                )
        item = self.coerce(value, _item_schema(node, 0), [*path, 0])
        self._add(path, "single_to_list", "made a one-item list of a single value")
        return [item]

    # -- containers --------------------------------------------------------------------------

    def _object(self, value: dict[str, Any], node: Mapping[str, Any], path: list[str | int]) -> Any:
        props, required, extra, keys = self.view.object_plan(node)
        infos = self._infos
        out: dict[str, Any] = {}
        for key, item in value.items():
            target = key if key in props else None
            if target is None and keys:
                names = [n for n in keys.get(key_norm(key), ()) if n not in value]
                if len(names) > 1:
                    raise Ambiguity([*path, key], f"the key {key!r} could be any of {names}")
                if names and names[0] not in out:
                    target = names[0]
                    self._add([*path, target], "key_renamed", f"read the key {key!r} as {target!r}")
            if target is None:
                if item is UNDEFINED:
                    continue
                if extra is False:
                    raise Miss([*path, key], f"the key {key!r} is not allowed")
                out[key] = self.coerce(item, extra, [*path, key])
                continue
            sub = props[target]
            empty = item is None or item is UNDEFINED
            if empty and target not in required and not self._nullable(sub):
                self._add([*path, target], "null_dropped", "dropped a null optional field")
                continue
            cached = infos.get(id(sub))  # a plain leaf: what coerce() returns, in fewer steps
            if cached is not None and cached[0] is sub and self.budget > 0 and len(path) < MAX_PATH:
                leaf = _as_is(item, cached[1])
                if leaf is not _NO:
                    self.budget -= 1
                    out[target] = leaf
                    continue
            try:
                out[target] = self.coerce(item, sub, [*path, target])
            except (Miss, Ambiguity):
                if self.partial and key == next(reversed(value)):
                    continue  # a streaming prefix: its last value may be unfinished
                text = text_of(item)
                if text is None or text.strip().casefold() not in NULL_WORDS:
                    raise
                if target in required and not self._nullable(sub):
                    raise
                if self._nullable(sub):
                    out[target] = None
                self._add([*path, target], "null_word", f"read {text[:20]!r} as no value")
        if not self.partial:
            for name in required:
                if name not in out:
                    missing = [r for r in required if r not in out]
                    raise Miss(path, f"missing required field(s): {', '.join(missing[:8])}")
        return out

    def _nullable(self, node: Any, depth: int = 0) -> bool:
        resolved = self.view.resolve(node)
        if isinstance(resolved, bool):
            return resolved
        if depth > 16:
            return False
        if "const" in resolved:
            return resolved["const"] is None
        if isinstance(resolved.get("enum"), list):
            return None in resolved["enum"]
        for key in ("anyOf", "oneOf"):
            if isinstance(resolved.get(key), list):
                return any(self._nullable(b, depth + 1) for b in resolved[key])
        types = self.view.types(resolved)
        return types is None or "null" in types

    def _array(self, value: list[Any], node: Mapping[str, Any], path: list[str | int]) -> Any:
        out = []
        prefix = node.get("prefixItems")
        same_items = not isinstance(prefix, list) or not prefix
        items = node.get("items", True)
        infos = self._infos
        for i, item in enumerate(value):
            sub = items if same_items else _item_schema(node, i)
            cached = infos.get(id(sub))
            if cached is not None and cached[0] is sub and self.budget > 0 and len(path) < MAX_PATH:
                leaf = _as_is(item, cached[1])
                if leaf is not _NO:
                    self.budget -= 1
                    out.append(leaf)
                    continue
            try:
                out.append(self.coerce(item, sub, [*path, i]))
            except (Miss, Ambiguity):
                if not (self.partial and i == len(value) - 1):
                    raise  # (a streaming prefix's last item may be unfinished: left out)
        return out


def _as_is(value: Any, info: NodeInfo) -> Any:
    """What :meth:`Coercer.coerce` returns for a scalar that a node (``info``) takes as it is,
    with no repair; ``_NO`` when that is not known at once."""
    if info.kind != "typed" or info.types is None:
        return _NO
    return _taken_as_is(value, info.types)


def _taken_as_is(value: Any, types: frozenset[str]) -> Any:
    """A string, boolean or number (plain or :class:`Num`) that one of ``types`` takes as it is:
    its value, as :meth:`Coercer._exact` reads it; ``_NO`` for anything else (other classes
    go through ``_exact``'s general rules, which read these the same way)."""
    cls = type(value)
    if cls is str:
        return value if "string" in types else _NO
    if cls is bool:
        return value if "boolean" in types else _NO
    if cls is Num or cls is int or cls is float:
        number = value.value if cls is Num else value
        if "number" in types or (
            "integer" in types and (type(number) is int or number.is_integer())
        ):
            return number
    return _NO


def _item_schema(node: Mapping[str, Any], index: int) -> Any:
    prefix = node.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return prefix[index]
    return node.get("items", True)


_NO: Final = object()
