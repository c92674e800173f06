"""What `StructuringEngine.configure` accepts, turned into one `ConstraintSpec`.

Sources: a pydantic model class (or any type pydantic can describe: dataclass, TypedDict...), a
JSON-schema dict, a Python function (its parameters become an object schema), a list or tuple of
these (any of them), or a :class:`ConstraintSpec` of any kind.

The objects we generate are closed, as the SDK closes a response model's schema
(:func:`~instructor_py.schema.prep.close_object_schemas`): an object schema built from a class, a
dataclass or a function's parameters gets ``additionalProperties: false`` unless it says otherwise
(pydantic's ``extra="allow"`` keeps ``additionalProperties: true``), so the model cannot invent
keys. A JSON-schema dict or a ConstraintSpec the user wrote is compiled as written (an open object
there is the user's choice), also inside a list/tuple.

With ``delimiters=(open, close)`` the structure sits between the two strings and free text may
come before the opening one (``buffer_length``: at most that many characters of it; ``-1``: none;
None: any amount). That is compiled as an llguidance Lark grammar: the free text and the opening
delimiter are one lexeme (text that does not contain the delimiter, then the delimiter), so the
structure starts exactly at the first occurrence of the opening delimiter.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from instructor_py.common.errors import ConfigurationError, UnsupportedResponseModelError
from instructor_py.constraints.spec import ConstraintSpec, Whitespace
from instructor_py.schema.prep import close_object_schemas

__all__ = ["EngineStructure", "build_structure", "schema_of"]

#: capture names of the delimited grammar (llguidance captures)
TEXT_LABEL = "text"


@dataclass(frozen=True)
class EngineStructure:
    """A configured structure: the compiled spec and how its output is read back.

    ``label``: the name of the structured segment ("json", "regex", "choice", "grammar");
    ``delimiters``/``buffer_length``: as given to ``configure``; ``source``: what was passed.
    """

    spec: ConstraintSpec
    label: str
    delimiters: tuple[str, str] | None = None
    buffer_length: int | None = None
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def is_json(self) -> bool:
        return self.label == "json"


def build_structure(
    structure: Any,
    *,
    delimiters: tuple[str, str] | list[str] | None = None,
    buffer_length: int | None = None,
    whitespace: Whitespace = "compact",
) -> EngineStructure:
    """The :class:`EngineStructure` for a ``configure`` call (raises a clear error otherwise)."""
    if isinstance(structure, ConstraintSpec):
        inner = structure
    else:
        inner = ConstraintSpec.json_schema(schema_of(structure), whitespace=whitespace)
    label = {"json_schema": "json"}.get(inner.kind, inner.kind)
    if buffer_length is not None and (
        isinstance(buffer_length, bool) or not isinstance(buffer_length, int) or buffer_length < -1
    ):
        raise ConfigurationError(
            f"configure: buffer_length must be an int >= -1 (or None for no limit), got "
            f"{buffer_length!r}."
        )
    if delimiters is None:
        if buffer_length is not None and buffer_length >= 0:
            raise ConfigurationError(
                "configure: buffer_length limits the free text before the opening delimiter; "
                "pass delimiters=(open, close) too."
            )
        return EngineStructure(inner, label, None, buffer_length, structure)
    pair = _check_delimiters(delimiters)
    spec = ConstraintSpec.grammar(_delimited_lark(inner, pair, buffer_length))
    return EngineStructure(spec, label, pair, buffer_length, structure)


def _check_delimiters(delimiters: Any) -> tuple[str, str]:
    if (
        not isinstance(delimiters, tuple | list)
        or len(delimiters) != 2
        or not all(isinstance(d, str) for d in delimiters)
    ):
        raise ConfigurationError(
            f"configure: delimiters must be a pair of strings (open, close), got {delimiters!r}."
        )
    if not delimiters[0]:
        raise ConfigurationError("configure: the opening delimiter is empty.")
    return str(delimiters[0]), str(delimiters[1])


# --- sources -> JSON schema ------------------------------------------------------------------


def schema_of(structure: Any) -> dict[str, Any]:
    """The JSON schema of a ``configure`` source (not a ConstraintSpec): a user's dict as written,
    the schemas we generate (classes, functions) with their objects closed."""
    if isinstance(structure, Mapping):
        return dict(structure)
    if isinstance(structure, list | tuple):
        if not structure:
            raise UnsupportedResponseModelError(
                "configure: an empty list/tuple of structures; pass at least one."
            )
        return _any_of([schema_of(s) for s in structure])
    if isinstance(structure, type):
        return _closed(_type_schema(structure))
    if inspect.isfunction(structure) or inspect.ismethod(structure):
        return _closed(_function_schema(structure))
    if isinstance(structure, str):
        raise UnsupportedResponseModelError(
            "configure: a bare string is ambiguous; pass a JSON-schema dict (json.loads(text)), "
            "ConstraintSpec.regex(pattern) or ConstraintSpec.grammar(text)."
        )
    raise UnsupportedResponseModelError(
        f"configure: cannot build a structure from {type(structure).__name__}; pass a pydantic "
        "model class, a JSON-schema dict, a function, a list/tuple of these, or a ConstraintSpec."
    )


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    closed: dict[str, Any] = close_object_schemas(schema)
    return closed


def _type_schema(tp: type) -> dict[str, Any]:
    from pydantic import BaseModel, TypeAdapter

    try:
        if issubclass(tp, BaseModel):
            return tp.model_json_schema()
        return TypeAdapter(tp).json_schema()
    except Exception as exc:  # pydantic raises several kinds for types it cannot describe
        raise UnsupportedResponseModelError(
            f"configure: pydantic cannot describe {tp.__name__} as a JSON schema ({exc}); pass a "
            "pydantic model, a dataclass or a JSON-schema dict."
        ) from exc


def _function_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    from pydantic import create_model

    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back on the raw annotations
        hints = {}
    fields: dict[str, Any] = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise UnsupportedResponseModelError(
                f"configure: {fn.__name__}(*{name}) cannot be a JSON property; give the function "
                "named parameters only."
            )
        annotation = hints.get(name, p.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[name] = (annotation, default)
    try:
        model = create_model(fn.__name__, **fields)
        schema: dict[str, Any] = model.model_json_schema()
    except Exception as exc:
        raise UnsupportedResponseModelError(
            f"configure: the parameters of {fn.__name__} do not make a JSON schema ({exc})."
        ) from exc
    doc = inspect.getdoc(fn)
    if doc:
        schema["description"] = doc.split("\n\n", 1)[0]
    return schema


def _any_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"anyOf": [...]}`` with every member's ``$defs`` hoisted to the root (renamed on clash)."""
    defs: dict[str, Any] = {}
    members: list[Any] = []
    for i, schema in enumerate(schemas):
        own = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        renames: dict[str, str] = {}
        for name, body in own.items():
            new = name
            if new in defs and defs[new] != body:
                new = f"{name}_{i}"
            renames[name] = new
        member = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
        member = _rewrite_refs(member, renames)
        for name, new in renames.items():
            defs[new] = _rewrite_refs(own[name], renames)
        members.append(member)
    out: dict[str, Any] = {"anyOf": members}
    if defs:
        out["$defs"] = defs
    return out


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                for prefix in ("#/$defs/", "#/definitions/"):
                    if v.startswith(prefix) and v[len(prefix) :] in renames:
                        v = "#/$defs/" + renames[v[len(prefix) :]]
                out[k] = v
            else:
                out[k] = _rewrite_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


# --- delimiters -> Lark ----------------------------------------------------------------------


def _regex_literal(text: str) -> str:
    """``text`` as a regex matching exactly it (every non-alphanumeric character as ``\\x{..}``)."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):X}}}" for c in text)


def _body(spec: ConstraintSpec) -> str:
    if spec.kind == "json_schema":
        compact = spec.options.whitespace == "compact"
        schema = spec.schema if isinstance(spec.schema, dict) else {}
        from instructor_py.engine.backends.llguidance_grammar import LLGUIDANCE_FORMAT_OVERRIDES
        from instructor_py.engine.format_regex import replace_formats

        schema = dict(replace_formats(schema, LLGUIDANCE_FORMAT_OVERRIDES))
        schema["x-guidance"] = {
            "whitespace_flexible": not compact,
            "item_separator": ",",
            "key_separator": ":",
            "coerce_one_of": False,
        }
        return "%json " + json.dumps(schema, ensure_ascii=False)
    if spec.kind == "regex":
        return "/" + spec.text.replace("/", "\\/") + "/"
    if spec.kind == "choice":
        return " | ".join(json.dumps(c, ensure_ascii=False) for c in spec.choices)
    raise ConfigurationError(
        "configure: delimiters wrap a JSON schema, a regex or a choice; for a grammar, write the "
        "delimiters into the grammar itself."
    )


def _delimited_lark(spec: ConstraintSpec, pair: tuple[str, str], buffer_length: int | None) -> str:
    open_, close = pair
    label = {"json_schema": "json"}.get(spec.kind, spec.kind)
    lines = [
        f"start: head body_ {json.dumps(close, ensure_ascii=False)}"
        if close
        else "start: head body_"
    ]
    if buffer_length == -1 or buffer_length == 0:
        lines.append(f'head[capture="{TEXT_LABEL}"]: {json.dumps(open_, ensure_ascii=False)}')
    else:
        free = "(?s:.*)" if buffer_length is None else f"(?s:.{{0,{buffer_length}}})"
        lit = _regex_literal(open_)
        lines += [
            f'head[capture="{TEXT_LABEL}"]: HEAD',
            f"HEAD: FREE /{lit}/",
            f"FREE: /{free}/ & ~/(?s:.*){lit}(?s:.*)/",
        ]
    lines.append(f'body_[capture="{label}"]: {_body(spec)}')
    return "\n".join(lines) + "\n"
