"""The jsonschema validator of the response pipeline, safe against hostile schemas.

Draft 2020-12 with ``pattern``, ``patternProperties``, ``additionalProperties`` and
``unevaluatedProperties`` matching through :mod:`instructor_py.schema.safe_regex` (RE2, linear time)
instead of ``re``, and a reference registry that never retrieves anything (jsonschema's default
one fetches unknown http(s) URIs). Build schemas through
:func:`instructor_py.schema.safety.check_schema` first: it refuses remote, dangling and cyclic
references at build time, so validation never meets them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import validators as _validators
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource

from instructor_py.schema.safe_regex import compile_pattern


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
    Call :func:`~instructor_py.schema.safety.check_schema` first (the response models do)."""
    contents = dict(schema) if isinstance(schema, Mapping) else schema
    validator: Draft202012Validator = SafeValidator(contents, registry=NO_RETRIEVAL)
    return validator


__all__ = ["NO_RETRIEVAL", "SafeValidator", "safe_validator"]
