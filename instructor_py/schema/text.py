"""Canonical JSON-schema text: a schema (dict, bool or JSON text) checked and serialised once.

Used by the local engine's :class:`~instructor_py.local.ConstraintSpec` and by the template
language (:mod:`instructor_py.guidance`), which must import without the local extra.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from instructor_py.common.errors import InvalidSchemaError

__all__ = ["canonical_schema_text"]


def canonical_schema_text(schema: Mapping[str, Any] | str | bool) -> str:
    """The schema as compact JSON text (key order kept: it is the order properties are
    generated in); ``true`` becomes ``{}``. Raises :class:`InvalidSchemaError` (naming the place)
    if it is not a JSON schema, or is ``false`` (nothing could be generated)."""
    obj = _load_schema(schema)
    if obj is True:
        obj = {}  # the schema `true` accepts any JSON value, like `{}`
    elif obj is False:
        raise InvalidSchemaError(
            "the JSON schema `false` accepts no value, so nothing could be generated."
        )
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    _check_schema_text(text)
    return text


def _load_schema(schema: Mapping[str, Any] | str | bool) -> Any:
    from instructor_py.schema.safety import check_schema

    if isinstance(schema, str):
        try:
            loaded = json.loads(schema)
        except RecursionError:
            raise InvalidSchemaError(
                "JSON schema text nests too deeply to parse; flatten it or use $defs with $ref."
            ) from None
        except json.JSONDecodeError as exc:
            raise InvalidSchemaError(
                f"JSON schema text is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}."
            ) from exc
        check_schema(loaded, where="the JSON schema constraint")
        return loaded
    if isinstance(schema, bool):
        return schema
    if isinstance(schema, Mapping):
        check_schema(schema, where="the JSON schema constraint")  # before json.dumps walks it
        try:
            return json.loads(json.dumps(schema))
        except (TypeError, ValueError) as exc:
            raise InvalidSchemaError(f"JSON schema is not JSON-serializable: {exc}.") from exc
    raise InvalidSchemaError(
        f"JSON schema must be a dict, a bool or JSON text, got {type(schema).__name__}."
    )


@lru_cache(maxsize=512)
def _check_schema_text(text: str) -> None:
    """Meta-validate a schema once per distinct text (it costs milliseconds; a retry or a cache
    hit builds the same spec again). Only successes are cached: errors are raised each time."""
    _check_schema(json.loads(text))


def _check_schema(obj: Any) -> None:
    import jsonschema
    from jsonschema.exceptions import SchemaError

    if isinstance(obj, bool):
        return
    if not isinstance(obj, dict):
        raise InvalidSchemaError(
            f"JSON schema must be an object or a bool, got {type(obj).__name__}."
        )
    validator = jsonschema.validators.validator_for(obj, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(obj)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidSchemaError(f"invalid JSON schema at {where}: {exc.message}") from exc
