"""Lists of items: ``Sequence.of(Model)`` and ``list[Model]``, wrapped in ``{"items": [...]}`` for
the model; the caller gets a ``list``. :attr:`ResponseModel.list_field` names the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from pydantic import Field, create_model

from instructor_py.response_models.adapter import WrappedResponseModel

SEQUENCE_FIELD = "items"

U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Sequence(Generic[U]):
    """A list of ``item_type`` as the response model: ``Sequence.of(User)``.

    The model answers ``{"items": [...]}``; the caller gets ``list[User]``. When streaming, each
    item is delivered as soon as it is complete and valid.
    """

    item_type: Any

    @overload
    @classmethod
    def of(cls, item_type: type[U]) -> Sequence[U]: ...

    @overload
    @classmethod
    def of(cls, item_type: Any) -> Sequence[Any]: ...

    @classmethod
    def of(cls, item_type: Any) -> Sequence[Any]:
        return cls(item_type)


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__name__", None)
    return name if isinstance(name, str) else "Item"


def sequence_response_model(item_type: Any) -> WrappedResponseModel:
    name = f"{_type_name(item_type)}List"
    wrapper = create_model(
        name,
        items=(list[item_type], Field(description=f"Every {_type_name(item_type)} found.")),
    )
    return WrappedResponseModel(
        wrapper,
        field=SEQUENCE_FIELD,
        list_field=SEQUENCE_FIELD,
        description=f'Return every {_type_name(item_type)} in the "{SEQUENCE_FIELD}" list.',
    )
