"""CBISON grammar types <-> :class:`~instructor_py.constraints.spec.ConstraintSpec`.

CBISON's ``new_matcher(grammar_type, grammar)`` names the grammar format with a string. The types
of the reference header, and what they become here:

=====================  ===================================================================
``regex``              ``ConstraintSpec.regex`` (Rust ``regex`` syntax)
``json``/``json_schema``  ``ConstraintSpec.json_schema``; an ``x-guidance`` object at the top
                       of the schema (llguidance's convention) sets the options:
                       ``whitespace_flexible`` (default false: compact JSON) and ``lenient``
``json_object``        ``{"type": "object"}`` (the grammar text is ignored)
``lark``               ``ConstraintSpec.grammar(text, "lark")`` (llguidance's Lark dialect)
``gbnf``               ``ConstraintSpec.grammar(text, "gbnf")`` (llama.cpp's GBNF; an extension)
``llguidance``/``guidance``  ``{"grammars": [one grammar]}`` with ``lark_grammar`` or
                       ``json_schema`` (a single grammar; several are not supported)
=====================  ===================================================================

The other direction (:func:`grammar_for_spec`, used by ``CbisonBackend``): a choice becomes a
``regex`` alternation of the escaped options, since regular expressions are what engines share.
"""

from __future__ import annotations

import json
from typing import Any

from instructor_py.common.errors import ConstraintCompileError, InvalidSchemaError
from instructor_py.constraints.spec import ConstraintSpec

#: The grammar types :func:`spec_for_grammar` reads.
GRAMMAR_TYPES = (
    "regex",
    "json",
    "json_schema",
    "json_object",
    "lark",
    "gbnf",
    "llguidance",
    "guidance",
)

_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def spec_for_grammar(grammar_type: str, grammar: str) -> ConstraintSpec:
    """The spec for a CBISON ``(grammar_type, grammar)``; raises ConstraintCompileError (or
    InvalidSchemaError for a bad schema) with what is wrong."""
    if grammar_type == "regex":
        return ConstraintSpec.regex(grammar)
    if grammar_type in ("json", "json_schema"):
        return _json_spec(grammar)
    if grammar_type == "json_object":
        return ConstraintSpec.json_schema({"type": "object"}, allow_relaxed=False)
    if grammar_type in ("lark", "gbnf"):
        return ConstraintSpec.grammar(grammar, grammar_type)
    if grammar_type in ("llguidance", "guidance"):
        return _llguidance_spec(grammar)
    raise ConstraintCompileError(
        f"grammar type {grammar_type!r} is not supported; use one of {', '.join(GRAMMAR_TYPES)}."
    )


def _loads(text: str, what: str, error: type[Exception]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})."
        ) from exc


def _json_spec(text: str) -> ConstraintSpec:
    return _schema_spec(_loads(text, "the JSON schema", InvalidSchemaError))


def _schema_spec(schema: Any) -> ConstraintSpec:
    flexible = lenient = False
    if isinstance(schema, dict) and "x-guidance" in schema:
        schema = dict(schema)
        opts = schema.pop("x-guidance")
        if not isinstance(opts, dict):
            raise InvalidSchemaError("x-guidance must be an object of options.")
        flexible = bool(opts.get("whitespace_flexible", False))
        lenient = bool(opts.get("lenient", False))
    spec = ConstraintSpec.json_schema(
        schema, whitespace="flexible" if flexible else "compact", allow_relaxed=False
    )
    return spec.with_options(lenient=True) if lenient else spec


def _llguidance_spec(text: str) -> ConstraintSpec:
    obj = _loads(text, "the llguidance grammar", ConstraintCompileError)
    grammars = obj.get("grammars") if isinstance(obj, dict) else None
    if not isinstance(grammars, list) or len(grammars) != 1 or not isinstance(grammars[0], dict):
        raise ConstraintCompileError(
            'an llguidance grammar here must be {"grammars": [one grammar]}; several grammars '
            "(or none) are not supported."
        )
    g = grammars[0]
    if "lark_grammar" in g:
        return ConstraintSpec.grammar(str(g["lark_grammar"]), "lark")
    if "json_schema" in g:
        return _schema_spec(g["json_schema"])
    raise ConstraintCompileError("the llguidance grammar has neither lark_grammar nor json_schema.")


def escape_regex_literal(text: str) -> str:
    """``text`` as a regex matching exactly it (meta characters escaped, spaces and
    non-printable characters as ``\\x{..}``)."""
    out = []
    for c in text:
        if c in _REGEX_META:
            out.append("\\" + c)
        elif c == " " or not c.isprintable():
            out.append(f"\\x{{{ord(c):X}}}")
        else:
            out.append(c)
    return "".join(out)


def grammar_for_spec(spec: ConstraintSpec) -> tuple[str, str] | None:
    """``(grammar_type, grammar)`` for ``spec``, or None when CBISON has no type for its kind."""
    if spec.kind == "json_schema":
        schema = spec.schema
        if isinstance(schema, dict):
            schema = {
                **schema,
                "x-guidance": {
                    "whitespace_flexible": spec.options.whitespace == "flexible",
                    "item_separator": ",",
                    "key_separator": ":",
                    "lenient": spec.options.lenient,
                },
            }
        return "json_schema", json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    if spec.kind == "regex":
        return "regex", spec.text
    if spec.kind == "choice":
        return "regex", "(" + "|".join(escape_regex_literal(c) for c in spec.choices) + ")"
    if spec.kind == "grammar" and spec.syntax is not None:
        return spec.syntax, spec.text
    return None
