"""Python ``instructor`` 1.17's parsing of the messy-answer corpus, run in the environment that has
it (``.venv-bench``, built by ``make bench-env``); called by ``benchmarks/parsing.py``.

Reads corpus rows (JSON lines) on stdin and writes, per row, what instructor's two prompted modes
read: ``JSON`` (``model_validate_json`` on the whole text) and ``MD_JSON``
(``instructor.v2.core.json.extract_json_from_codeblock`` then ``model_validate_json``), both in
pydantic's lax mode as instructor calls them. Each row's JSON schema is turned into a pydantic
model first (object properties become aliased fields; enums and consts ``Literal``s; maps
``dict[str, T]``); a schema that is not an object is validated through a ``TypeAdapter`` of its
type (instructor itself wraps such types in a model: an approximation, said in the output).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal, Optional, Union

from instructor.v2.core.json import extract_json_from_codeblock
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.models: dict[str, Any] = {}
        self.count = 0

    def type_of(self, node: Any) -> Any:
        if node is True or node == {}:
            return Any
        if "$ref" in node:
            name = node["$ref"].split("/")[-1]
            if name not in self.models:
                self.models[name] = Any  # recursion: typed loosely below this point
                self.models[name] = self.type_of(self.root["$defs"][name])
            return self.models[name]
        if "const" in node:
            return Literal[node["const"]]
        if "enum" in node:
            return Literal[tuple(node["enum"])]
        for key in ("anyOf", "oneOf"):
            if key in node:
                return Union[tuple(self.type_of(b) for b in node[key])]  # noqa: UP007
        kind = node.get("type")
        if isinstance(kind, list):
            return Union[tuple(self.type_of({**node, "type": k}) for k in kind)]  # noqa: UP007
        if kind == "null":
            return type(None)
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            return list[self.type_of(node.get("items", {}))]  # type: ignore[misc]
        if kind == "object" or "properties" in node:
            if "properties" not in node:
                return dict[str, self.type_of(node.get("additionalProperties", {}))]  # type: ignore[misc]
            return self.model(node)
        return Any

    def model(self, node: dict[str, Any]) -> type[BaseModel]:
        self.count += 1
        required = set(node.get("required", ()))
        fields: dict[str, Any] = {}
        for index, (key, sub) in enumerate(node["properties"].items()):
            tp = self.type_of(sub)
            if key in required:
                fields[f"f{index}"] = (tp, Field(alias=key))
            else:
                fields[f"f{index}"] = (Optional[tp], Field(default=None, alias=key))  # noqa: UP045
        extra = "forbid" if node.get("additionalProperties") is False else "ignore"
        config = ConfigDict(extra=extra, populate_by_name=False)
        return create_model(f"M{self.count}", __config__=config, **fields)


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {k: _dump(v) for k, v in value.model_dump(by_alias=True, exclude_unset=True).items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _read(tp: Any, text: str) -> dict[str, Any]:
    try:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return {"value": _dump(tp.model_validate_json(text))}
        return {"value": _dump(TypeAdapter(tp).validate_json(text))}
    except Exception as exc:  # a refusal: instructor would retry
        return {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}


def main() -> None:
    for line in sys.stdin:
        row = json.loads(line)
        tp = _Converter(row["schema"]).type_of(row["schema"])
        out = {"id": row["id"], "JSON": _read(tp, row["text"])}
        try:
            out["MD_JSON"] = _read(tp, extract_json_from_codeblock(row["text"]))
        except ValueError as exc:
            out["MD_JSON"] = {"error": str(exc)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
