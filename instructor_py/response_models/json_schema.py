"""A JSON-schema dict as the response model: the value is a plain dict validated with jsonschema."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from instructor_py.common.errors import InvalidSchemaError
from instructor_py.response_models.base import ResponseModel
from instructor_py.schema.safety import check_schema


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
                "Pass a valid JSON schema (draft 2020-12) describing an object."
            ) from None
        if schema.get("type") != "object":
            raise InvalidSchemaError(
                "A JSON-schema response_model must describe an object "
                f"(\"type\": \"object\"), got type {schema.get('type')!r}. Wrap other values in "
                "an object schema, or pass a Python type such as list[Model] or int instead."
            )
        frozen = copy.deepcopy(dict(schema))
        super().__init__(
            name=str(frozen.get("title") or "response"),
            description=str(frozen.get("description") or ""),
            json_schema=frozen,
        )

    def deserialize(self, data: Any) -> Any:
        # schema validation already happened in the pipeline; hand back a private copy
        return copy.deepcopy(data)
