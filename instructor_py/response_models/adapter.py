"""Response models validated through pydantic's ``TypeAdapter``: dataclasses and TypedDicts, and
the wrapper objects used for scalars, sequences and ``Maybe``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from instructor_py.response_models.base import ResponseModel


class AdapterResponseModel(ResponseModel):
    """A dataclass or TypedDict (any object-shaped type pydantic can validate)."""

    kind = "adapter"

    def __init__(self, tp: Any, *, name: str | None = None, description: str = "") -> None:
        adapter: TypeAdapter[Any] = TypeAdapter(tp)
        schema = adapter.json_schema()
        super().__init__(
            name=name or str(getattr(tp, "__name__", "response")),
            description=description or str(schema.get("description") or ""),
            json_schema=schema,
        )
        self.adapter = adapter
        self.type = tp

    def deserialize(self, data: Any) -> Any:
        return self.adapter.validate_python(data)


class WrappedResponseModel(ResponseModel):
    """A pydantic wrapper model with one field (``wrapper_field``) holding the caller's value."""

    kind = "wrapped"

    def __init__(
        self,
        wrapper: type[BaseModel],
        *,
        field: str,
        description: str,
        list_field: str | None = None,
    ) -> None:
        super().__init__(
            name=wrapper.__name__,
            description=description,
            json_schema=wrapper.model_json_schema(),
            wrapper_field=field,
            list_field=list_field,
        )
        self.wrapper = wrapper

    @property
    def answer_model(self) -> type[BaseModel]:
        return self.wrapper

    def deserialize(self, data: Any) -> Any:
        return self.wrapper.model_validate(data)

    def unwrap(self, obj: Any) -> Any:
        assert self.wrapper_field is not None
        return getattr(obj, self.wrapper_field)
