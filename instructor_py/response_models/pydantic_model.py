"""A pydantic ``BaseModel`` subclass as the response model."""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel

from instructor_py.response_models.base import ResponseModel


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

    @property
    def answer_model(self) -> type[BaseModel]:
        return self.model

    def deserialize(self, data: Any) -> Any:
        return self.model.model_validate(data)
