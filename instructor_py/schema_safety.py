"""Hostile schemas: what a JSON schema may not do to the process that uses it.

:func:`check_schema` runs when a response model or a local constraint is built (before any other
code walks the schema, so a 10,000-level schema cannot overflow the stack) and refuses, each with a
typed error that says what to change:

- a ``$ref``/``$dynamicRef`` that leaves the schema (a URL, another file):
  :class:`~instructor_py.errors.RemoteReferenceError`. A schema never causes network or file
  access; :func:`safe_validator` also gives jsonschema a registry that refuses to retrieve;
- a schema past :class:`SchemaLimits` (nodes, nesting depth, ``enum`` length):
  :class:`~instructor_py.errors.SchemaLimitError`;
- a ``pattern``/``patternProperties`` key that is not a regex either engine of
  :mod:`instructor_py.safe_regex` can run.

:func:`safe_validator` is the jsonschema validator the response pipeline uses: draft 2020-12 with
``pattern``, ``patternProperties``, ``additionalProperties`` and ``unevaluatedProperties`` matching
through RE2 (linear time) instead of ``re``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator
from jsonschema import validators as _validators
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource

from instructor_py.errors import RemoteReferenceError, SchemaLimitError
from instructor_py.safe_regex import compile_pattern


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """Limits on a schema document. ``max_nodes``: JSON values in it (objects, arrays, scalars);
    ``max_depth``: nesting of objects and arrays; ``max_enum``: entries of one ``enum``."""

    max_nodes: int = 100_000
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


def check_schema(
    schema: Any, *, limits: SchemaLimits = DEFAULT_LIMITS, where: str = "the schema"
) -> None:
    """Refuse a hostile schema (see the module docstring). Iterative: never recurses."""
    if isinstance(schema, Mapping) and not isinstance(schema, dict):
        schema = dict(schema)
    refs: list[tuple[str, str, str]] = []  # (path, base URI, ref)
    ids: set[str] = {""}
    nodes = 0
    # (value, path, depth, role, base URI); role: schema | map | list | data
    stack: list[tuple[Any, str, int, str, str]] = [(schema, "", 1, "schema", "")]
    while stack:
        value, path, depth, role, base = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise SchemaLimitError(
                f"{where} has more than {limits.max_nodes} values (nodes); split it or "
                "simplify it (SchemaLimits.max_nodes)."
            )
        if not isinstance(value, dict | list):
            continue
        if depth > limits.max_depth:
            raise SchemaLimitError(
                f"{where} nests deeper than {limits.max_depth} levels at {path or '/'}; flatten "
                "it or use $defs with $ref (SchemaLimits.max_depth)."
            )
        if isinstance(value, list):
            child = "schema" if role == "list" else "data"
            stack.extend((v, f"{path}/{i}", depth + 1, child, base) for i, v in enumerate(value))
            continue
        if role == "map":
            for key, v in value.items():
                stack.append((v, f"{path}/{key}", depth + 1, "schema", base))
            continue
        if role == "data":
            stack.extend((v, f"{path}/{k}", depth + 1, "data", base) for k, v in value.items())
            continue
        base = _schema_node(value, path, base, ids, refs, limits, where)
        for key, v in value.items():
            stack.append((v, f"{path}/{key}", depth + 1, _role(key, v), base))
    for path, ref_base, ref in refs:
        target = urldefrag(urljoin(ref_base, ref)).url
        if target not in ids:
            raise RemoteReferenceError(
                f"{where} has a $ref to {ref!r} at {path or '/'}, outside the schema; schemas "
                "never cause network or file access. Inline the referenced schema under $defs "
                "and point to it with '#/$defs/Name'."
            )


def _schema_node(
    node: dict[str, Any],
    path: str,
    base: str,
    ids: set[str],
    refs: list[tuple[str, str, str]],
    limits: SchemaLimits,
    where: str,
) -> str:
    node_id = node.get("$id")
    if isinstance(node_id, str):
        base = urldefrag(urljoin(base, node_id)).url
        ids.add(base)
    for key in _REF_KEYS:
        ref = node.get(key)
        if isinstance(ref, str):
            refs.append((f"{path}/{key}", base, ref))
    enum = node.get("enum")
    if isinstance(enum, list) and len(enum) > limits.max_enum:
        raise SchemaLimitError(
            f"{where} has an enum of {len(enum)} values at {path or '/'}; the limit is "
            f"{limits.max_enum} (SchemaLimits.max_enum). Use a pattern or a plain string."
        )
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        compile_pattern(pattern)
    pattern_properties = node.get("patternProperties")
    if isinstance(pattern_properties, dict):
        for key in pattern_properties:
            compile_pattern(key)
    return base


def _role(key: str, value: Any) -> str:
    if key in _SCHEMA_LIST and isinstance(value, list):
        return "list"
    if key in _SCHEMA_MAP and isinstance(value, dict):
        return "map"
    if key in _SCHEMA:
        return "schema"
    return "data"


# --- the validator --------------------------------------------------------------------------


def _refuse_retrieval(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


#: jsonschema's default registry fetches unknown http(s) URIs; this one never retrieves anything.
NO_RETRIEVAL: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(patrn).search(instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(
    validator: Any, pattern_properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _matches_any_pattern(schema: Mapping[str, Any], key: str) -> bool:
    return any(compile_pattern(p).search(key) for p in schema.get("patternProperties", {}))


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    extras = [k for k in instance if k not in properties and not _matches_any_pattern(schema, k)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(e) for e in sorted(extras))
        yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


def _evaluated_keys(validator: Any, instance: Mapping[str, Any], schema: Any) -> set[str]:
    """The keys of ``instance`` some keyword of ``schema`` evaluates (for unevaluatedProperties)."""
    if not isinstance(schema, dict):
        return set()
    keys: set[str] = set()
    for ref_key in ("$ref", "$dynamicRef"):
        ref = schema.get(ref_key)
        if ref is not None:
            resolved = validator._resolver.lookup(ref)
            sub = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
            keys |= _evaluated_keys(sub, instance, resolved.contents)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        keys |= properties.keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        sub_schema = schema.get(keyword)
        if sub_schema is not None:
            keys |= {k for k, v in instance.items() if validator.evolve(schema=sub_schema).is_valid(v)}
    keys |= {k for k in instance if _matches_any_pattern(schema, k)}
    for prop, sub_schema in schema.get("dependentSchemas", {}).items():
        if prop in instance:
            keys |= _evaluated_keys(validator, instance, sub_schema)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub_schema in schema.get(keyword, []):
            if validator.evolve(schema=sub_schema).is_valid(instance):
                keys |= _evaluated_keys(validator, instance, sub_schema)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys |= _evaluated_keys(validator, instance, schema["if"])
            keys |= _evaluated_keys(validator, instance, schema.get("then", True))
        else:
            keys |= _evaluated_keys(validator, instance, schema.get("else", True))
    return keys


def _unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    rest = [k for k in instance if k not in evaluated]
    bad = [k for k in rest if not validator.evolve(schema=unevaluated).is_valid(instance[k])]
    if bad:
        listed = ", ".join(repr(k) for k in sorted(bad))
        yield ValidationError(
            f"Unevaluated properties are not allowed ({listed} were unexpected)"
            if unevaluated is False
            else f"Unevaluated properties are not valid under the given schema ({listed})"
        )


SafeValidator = _validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
    },
)


def safe_validator(schema: Mapping[str, Any] | bool) -> Draft202012Validator:
    """A draft 2020-12 validator whose regexes run on RE2 and whose refs never leave the schema.
    Call :func:`check_schema` first (the response models do)."""
    contents = dict(schema) if isinstance(schema, Mapping) else schema
    validator: Draft202012Validator = SafeValidator(contents, registry=NO_RETRIEVAL)
    return validator


__all__ = [
    "DEFAULT_LIMITS",
    "NO_RETRIEVAL",
    "SafeValidator",
    "SchemaLimits",
    "check_schema",
    "safe_validator",
]
