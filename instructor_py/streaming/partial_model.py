"""Partial twins of pydantic models, and the shapes that build them while JSON streams.

``partial_model(User)`` returns ``PartialUser``: a frozen model with the same field names, every
field optional (default ``None``), nested models, lists and dicts of models turned into their
partial twins. Twins carry no validators: a snapshot is built from the streamed data without
running any validation (the real model validates the final value once). Leaf values are the raw
JSON values seen so far (``str``, ``int``, ``float``, ``bool``, ``None``, dicts/lists), not coerced.

Snapshots are constructed directly (like ``model_construct``, without its per-call overhead), and
list fields hold :class:`~instructor_py.streaming.shapes.PartialList` views that share their
completed items with earlier snapshots. ``model_dump()``/``model_dump_json()`` turn them into
lists. Twins and shapes are cached per model class.
"""

from __future__ import annotations

import collections.abc
import enum
import types
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    WrapSerializer,
    create_model,
)

from instructor_py.streaming.shapes import MISSING, RAW_SHAPE, PartialList, Shape

__all__ = [
    "ArrayShape",
    "MapShape",
    "ModelShape",
    "PartialModel",
    "model_shape",
    "partial_model",
    "shape_for",
]

_setattr = object.__setattr__


def _plain(value: Any) -> Any:
    if isinstance(value, PartialList):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _serialize_plain(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    return handler(_plain(value))


_SER = WrapSerializer(_serialize_plain)


class PartialModel(BaseModel):
    """Base of every partial twin. ``partial_of`` is the model it mirrors."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, protected_namespaces=())
    partial_of: ClassVar[type[BaseModel]]


_TWINS: dict[type[BaseModel], type[PartialModel]] = {}
_BUILDING: set[type[BaseModel]] = set()
_SHAPES: dict[type[BaseModel], ModelShape] = {}


def partial_model(model: type[BaseModel]) -> type[PartialModel]:
    """The partial twin of ``model`` (cached)."""
    twin = _TWINS.get(model)
    if twin is not None:
        return twin
    _BUILDING.add(model)
    try:
        fields: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            fields[name] = (_twin_annotation(info.annotation), None)
        twin = create_model(
            f"Partial{model.__name__}",
            __base__=PartialModel,
            __module__=model.__module__,
            **fields,
        )
    finally:
        _BUILDING.discard(model)
    twin.partial_of = model
    twin.__doc__ = f"Partial snapshot of {model.__name__}: every field optional, nothing validated."
    _TWINS[model] = twin
    return twin


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return tuple(a for a in get_args(tp) if a is not type(None))
    return None


def _strip(tp: Any) -> Any:
    """Remove Annotated and Optional wrappers; a union of several types stays a union."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        members = _union_members(tp)
        if members is not None and len(members) == 1:
            tp = members[0]
            continue
        return tp


_SEQUENCE_ORIGINS: tuple[Any, ...] = (
    list,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
)
_MAPPING_ORIGINS: tuple[Any, ...] = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _item_type(tp: Any) -> Any | None:
    """The item type if ``tp`` is a homogeneous sequence type, else None."""
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in _SEQUENCE_ORIGINS and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    if tp in (list, set, frozenset, tuple):
        return Any
    return None


def _value_type(tp: Any) -> Any | None:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in _MAPPING_ORIGINS:
        return args[1] if len(args) == 2 else Any
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _twin_annotation(tp: Any) -> Any:
    tp = _strip(tp)
    if _is_model(tp):
        if tp in _BUILDING:  # recursive model: raw values there
            return Annotated[Any | None, _SER]
        return partial_model(tp) | None
    item = _item_type(tp)
    if item is not None:
        return Annotated[list[_twin_annotation(item)] | None, _SER]  # type: ignore[misc]
    value = _value_type(tp)
    if value is not None:
        return dict[str, _twin_annotation(value)] | None  # type: ignore[misc]
    return Annotated[Any | None, _SER]


def is_atomic(tp: Any) -> bool:
    """``Literal`` and ``Enum`` values are shown only once complete."""
    tp = _strip(tp)
    if get_origin(tp) is Literal:
        return True
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def shape_for(tp: Any) -> Shape:
    """The snapshot shape for a field/response type (models, lists and dicts of them, else raw)."""
    tp = _strip(tp)
    if _is_model(tp):
        return model_shape(tp)
    item = _item_type(tp)
    if item is not None:
        return ArrayShape(shape_for(item), atomic=is_atomic(item))
    value = _value_type(tp)
    if value is not None:
        return MapShape(shape_for(value), atomic=is_atomic(value))
    return RAW_SHAPE


def model_shape(model: type[BaseModel]) -> ModelShape:
    """The (cached) shape building ``partial_model(model)`` snapshots."""
    shape = _SHAPES.get(model)
    if shape is None:
        shape = _SHAPES[model] = ModelShape(model)
    return shape


class ArrayShape(Shape):
    """An array whose snapshots are :class:`PartialList` views (O(1) each)."""

    __slots__ = ("_atomic", "_item")

    def __init__(self, item: Shape, *, atomic: bool = False) -> None:
        self._item = item
        self._atomic = atomic

    def item(self) -> Shape:
        return self._item

    def items_atomic(self) -> bool:
        return self._atomic

    def child(self, key: str) -> Shape:
        return RAW_SHAPE

    def build_array(self, snaps: list[Any], tail: Any) -> Any:
        return PartialList(snaps, len(snaps), tail)


class MapShape(Shape):
    """An object used as a ``dict[str, X]``: a dict snapshot whose values have shape X."""

    __slots__ = ("_atomic", "_value")

    def __init__(self, value: Shape, *, atomic: bool = False) -> None:
        self._value = value
        self._atomic = atomic

    def child(self, key: str) -> Shape:
        return self._value

    def atomic(self, key: str) -> bool:
        return self._atomic

    def item(self) -> Shape:
        return RAW_SHAPE


class ModelShape(Shape):
    """An object mirrored by a partial twin; unknown keys are not shown."""

    __slots__ = ("_fields", "_new", "_template", "model", "twin")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.twin = partial_model(model)
        self._template = dict.fromkeys(self.twin.model_fields)
        self._fields: dict[str, tuple[str, Shape, bool]] | None = None
        self._new: Callable[[type[PartialModel]], PartialModel] = PartialModel.__new__

    def _keys(self) -> dict[str, tuple[str, Shape, bool]]:
        fields = self._fields
        if fields is None:
            fields = {}
            for name, info in self.model.model_fields.items():
                entry = (name, shape_for(info.annotation), is_atomic(info.annotation))
                fields[name] = entry
                for alias in (info.alias, info.validation_alias):
                    if isinstance(alias, str):
                        fields[alias] = entry
            self._fields = fields
        return fields

    def child(self, key: str) -> Shape:
        entry = self._keys().get(key)
        return entry[1] if entry is not None else RAW_SHAPE

    def item(self) -> Shape:
        return RAW_SHAPE

    def field_name(self, key: str) -> str | None:
        entry = self._keys().get(key)
        return entry[0] if entry is not None else None

    def atomic(self, key: str) -> bool:
        entry = self._keys().get(key)
        return entry is not None and entry[2]

    def build_object(self, snaps: dict[str, Any], tail_key: str | None, tail: Any) -> Any:
        d = self._template.copy()
        d.update(snaps)
        fields_set = set(snaps)
        if tail_key is not None and tail is not MISSING:
            d[tail_key] = tail
            fields_set.add(tail_key)
        twin = self.twin
        m = self._new(twin)
        _setattr(m, "__dict__", d)
        _setattr(m, "__pydantic_fields_set__", fields_set)
        _setattr(m, "__pydantic_extra__", None)
        _setattr(m, "__pydantic_private__", None)
        return m
