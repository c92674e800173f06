"""Scalars (``int``, ``float``, ``str``, ``bool``, ``Literal[...]``, ``Enum``) wrapped in a
one-field object ``{"value": ...}`` for the model and unwrapped for the caller."""

from __future__ import annotations

import enum
from typing import Any, Literal, get_origin

from pydantic import Field, create_model

from instructor_py.response_models.adapter import WrappedResponseModel

SCALAR_FIELD = "value"

_NAMES: dict[Any, str] = {int: "Integer", float: "Number", str: "Text", bool: "Boolean"}


def is_scalar(obj: Any) -> bool:
    if obj in _NAMES:
        return True
    if get_origin(obj) is Literal:
        return True
    return isinstance(obj, type) and issubclass(obj, enum.Enum)


def scalar_response_model(tp: Any) -> WrappedResponseModel:
    if get_origin(tp) is Literal:
        name = "Choice"
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        name = tp.__name__
    else:
        name = _NAMES[tp]
    wrapper = create_model(
        name,
        value=(tp, Field(description="The answer.")),
    )
    return WrappedResponseModel(
        wrapper,
        field=SCALAR_FIELD,
        description=f'Return the answer in the "{SCALAR_FIELD}" field.',
    )
