"""A pydantic ``BaseModel`` subclass as the response model."""

from __future__ import annotations

import inspect
from functools import cached_property
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from instructor_py.response_models.base import ResponseModel


class _ReadingSchema(GenerateJsonSchema):
    """pydantic's JSON schema with each field's other validation aliases (``AliasChoices``
    after the first, which names the property) as ``"x-aliases"``."""

    def model_field_schema(self, schema: core_schema.ModelField) -> JsonSchemaValue:
        out = super().model_field_schema(schema)
        alias = schema.get("validation_alias")
        if isinstance(alias, list):
            names = [
                path[0]
                for path in alias[1:]
                if isinstance(path, list) and len(path) == 1 and isinstance(path[0], str)
            ]
            if names:
                out = {**out, "x-aliases": names}
        return out


class PydanticResponseModel(ResponseModel):
    kind = "pydantic"

    def __init__(self, model: type[BaseModel]) -> None:
        schema = model.model_json_schema()
        doc = inspect.getdoc(model) or ""
        # pydantic's own BaseModel docstring is not a description of the user's model
        if model.__doc__ is None or model.__doc__ == BaseModel.__doc__:
            doc = ""
        super().__init__(
            name=model.__name__,
            description=str(schema.get("description", doc) or ""),
            json_schema=schema,
        )
        self.model = model

    @cached_property
    def reading_schema(self) -> Any:  # a Mapping; cached_property cannot narrow the base's type
        reading = self.model.model_json_schema(schema_generator=_ReadingSchema)
        return reading if _mentions(reading, "x-aliases") else self.json_schema

    @property
    def answer_model(self) -> type[BaseModel]:
        return self.model

    def deserialize(self, data: Any) -> Any:
        return self.model.model_validate(data)


def _mentions(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_mentions(v, key) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, key) for v in node)
    return False
