"""``Maybe(Model)``: the model returns either a value or an error message saying why it cannot.

The model answers ``{"result": {...} | null, "error": bool, "message": str | null}``; the caller
gets a :class:`MaybeResult`. ``error: false`` without a ``result`` is a validation failure (fed
back to the model), never an empty success.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, create_model, model_validator

from instructor_py.response_models.adapter import WrappedResponseModel

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Maybe(Generic[T]):
    """``Maybe(User)``: a User, or the model's explanation of why there is none."""

    item_type: type[T]


@dataclass(frozen=True, slots=True)
class MaybeResult(Generic[T]):
    """The value of a ``Maybe`` response model: ``value`` when found, else ``message``."""

    value: T | None
    error: bool = False
    message: str | None = None

    @property
    def found(self) -> bool:
        return not self.error and self.value is not None


class _MaybeBase(BaseModel):
    result: Any = None
    error: bool = False
    message: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _MaybeBase:
        if not self.error and self.result is None:
            raise ValueError(
                'set "result" when "error" is false, or set "error": true and explain in "message"'
            )
        if self.error and not self.message:
            raise ValueError('explain in "message" why there is no result when "error" is true')
        return self


class MaybeResponseModel(WrappedResponseModel):
    kind = "maybe"

    @property
    def partial_field(self) -> str | None:
        return None  # partials show the whole {result, error, message} object

    def prepare(self, data: Any) -> Any:
        return data

    def unwrap(self, obj: Any) -> Any:
        return MaybeResult(value=obj.result, error=obj.error, message=obj.message)


def maybe_response_model(item_type: Any) -> MaybeResponseModel:
    name = getattr(item_type, "__name__", "Value")
    wrapper = create_model(
        f"Maybe{name}",
        __base__=_MaybeBase,
        result=(
            item_type | None,
            Field(default=None, description=f"The {name}, when it can be found."),
        ),
        error=(bool, Field(default=False, description="true when there is no result.")),
        message=(
            str | None,
            Field(default=None, description="Why there is no result (when error is true)."),
        ),
    )
    return MaybeResponseModel(
        wrapper,
        field="result",
        description=f"Return the {name} in \"result\", or set \"error\" and explain in \"message\".",
    )
