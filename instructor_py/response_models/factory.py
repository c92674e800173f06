"""``to_response_model(obj)``: every supported kind of response model, built once (cached)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, NoReturn, get_args, get_origin

from pydantic import BaseModel
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from typing_extensions import is_typeddict

from instructor_py.common.errors import UnsupportedResponseModelError
from instructor_py.response_models.adapter import AdapterResponseModel
from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.json_schema import JsonSchemaResponseModel
from instructor_py.response_models.maybe import Maybe, maybe_response_model
from instructor_py.response_models.pydantic_model import PydanticResponseModel
from instructor_py.response_models.scalar import is_scalar, scalar_response_model
from instructor_py.response_models.sequence import Sequence, sequence_response_model

SUPPORTED = (
    "a pydantic BaseModel subclass, a JSON-schema dict (any schema), int, float, str, "
    "bool, a Literal[...], an Enum subclass, Maybe(Model), Sequence.of(Model), list[Model], a "
    "dataclass or a TypedDict"
)


def to_response_model(obj: Any) -> ResponseModel:
    """Build the :class:`ResponseModel` for ``obj``; raises
    :class:`~instructor_py.common.errors.UnsupportedResponseModelError` (saying what is supported) for
    anything else."""
    if isinstance(obj, ResponseModel):
        return obj
    if isinstance(obj, Mapping):
        return JsonSchemaResponseModel(obj)
    try:
        hash(obj)
    except TypeError:
        _unsupported(obj)
    return _cached(obj)


@functools.lru_cache(maxsize=256)
def _cached(obj: Any) -> ResponseModel:
    try:
        return _build(obj)
    except (PydanticSchemaGenerationError, PydanticUserError) as exc:
        raise UnsupportedResponseModelError(
            f"response_model {_describe(obj)} cannot be turned into a JSON schema: "
            f"{str(exc).splitlines()[0].rstrip('.')}. Use {SUPPORTED}, with field types pydantic can "
            "validate."
        ) from None


def _build(obj: Any) -> ResponseModel:
    if isinstance(obj, Maybe):
        _check_item(obj.item_type, "Maybe(...)")
        return maybe_response_model(obj.item_type)
    if isinstance(obj, Sequence):
        _check_item(obj.item_type, "Sequence.of(...)")
        return sequence_response_model(obj.item_type)
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return PydanticResponseModel(obj)
    if is_scalar(obj):
        return scalar_response_model(obj)
    if get_origin(obj) is list:
        args = get_args(obj)
        if len(args) != 1:
            _unsupported(obj)
        _check_item(args[0], "list[...]")
        return sequence_response_model(args[0])
    if isinstance(obj, type) and (dataclasses.is_dataclass(obj) or is_typeddict(obj)):
        return AdapterResponseModel(obj)
    _unsupported(obj)


def _check_item(item: Any, where: str) -> None:
    ok = (
        (isinstance(item, type) and issubclass(item, BaseModel))
        or is_scalar(item)
        or (isinstance(item, type) and (dataclasses.is_dataclass(item) or is_typeddict(item)))
    )
    if not ok:
        raise UnsupportedResponseModelError(
            f"{where} got {_describe(item)}; its item must be a pydantic BaseModel subclass, a "
            "dataclass, a TypedDict, int, float, str, bool, a Literal[...] or an Enum subclass."
        )


def _describe(obj: Any) -> str:
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def _unsupported(obj: Any) -> NoReturn:
    raise UnsupportedResponseModelError(
        f"Unsupported response_model {_describe(obj)}. Use {SUPPORTED}."
    )


__all__ = ["SUPPORTED", "to_response_model"]
