"""A JSON-schema dict as the response model: the value is plain JSON validated with jsonschema.

Any schema may be one: an object schema is used as it is; any other (a scalar, an array, an enum, a
``const``, an ``anyOf``/``oneOf`` union, a root ``$ref``, a recursive schema) is wrapped in a
one-field object ``{"value": <the schema>}``, as the Python-type scalar and list models are
(:mod:`instructor_py.response_models.scalar`), because tools and native structured output need an
object on the wire. The wrapper's ``$defs``/``definitions`` are the schema's own (hoisted to the
root so their ``$ref``s still resolve) and the schema's other local references are re-pointed
under ``#/properties/value``. The model may answer the bare value or the wrapper
(:meth:`ResponseModel.prepare`); the caller always gets the bare value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from instructor_py.common.errors import InvalidSchemaError
from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.scalar import SCALAR_FIELD
from instructor_py.schema.safety import check_schema

_DEFS = ("$defs", "definitions")
_ROOT_ONLY = ("$schema", "$id")


class JsonSchemaResponseModel(ResponseModel):
    kind = "json_schema"

    def __init__(self, schema: Mapping[str, Any]) -> None:
        check_schema(schema, where="the response_model JSON schema")  # before anything walks it
        try:
            Draft202012Validator.check_schema(dict(schema))
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise InvalidSchemaError(
                f"The response_model JSON schema is not valid at {path}: {exc.message}. "
                "Pass a valid JSON schema (draft 2020-12)."
            ) from None
        frozen = copy.deepcopy(dict(schema))
        name = str(frozen.get("title") or "response")
        description = str(frozen.get("description") or "")
        if frozen.get("type") == "object":
            super().__init__(name=name, description=description, json_schema=frozen)
        else:
            super().__init__(
                name=name,
                description=description or f'Return the answer in the "{SCALAR_FIELD}" field.',
                json_schema=wrap_schema(frozen),
                wrapper_field=SCALAR_FIELD,
            )

    def deserialize(self, data: Any) -> Any:
        # schema validation already happened in the pipeline; hand back a private copy
        return copy.deepcopy(data)

    def unwrap(self, obj: Any) -> Any:
        if self.wrapper_field is None:
            return obj
        return obj[self.wrapper_field]


def wrap_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "object", "properties": {"value": schema}, ...}`` with the definitions hoisted
    and the other local ``$ref``s re-pointed (see the module docstring)."""
    inner = {k: v for k, v in schema.items() if k not in _DEFS and k not in _ROOT_ONLY}
    wrapper: dict[str, Any] = {k: schema[k] for k in _ROOT_ONLY if k in schema}
    wrapper.update(
        {
            "type": "object",
            "properties": {SCALAR_FIELD: _repoint(inner)},
            "required": [SCALAR_FIELD],
            "additionalProperties": False,
        }
    )
    for key in _DEFS:
        if isinstance(schema.get(key), Mapping):
            wrapper[key] = _repoint(schema[key])
    return wrapper


def _repoint(node: Any) -> Any:
    if isinstance(node, list):
        return [_repoint(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _repoint(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        pointer = ref[1:]
        if not any(pointer == f"/{d}" or pointer.startswith(f"/{d}/") for d in _DEFS):
            out["$ref"] = f"#/properties/{SCALAR_FIELD}{pointer.rstrip('/')}"
    return out


__all__ = ["JsonSchemaResponseModel", "wrap_schema"]
