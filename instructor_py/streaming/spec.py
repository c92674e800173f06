"""What streaming needs to know about a response model: snapshot shapes, how to unwrap a partial
for the caller, and (for sequences) where the list is and how to validate one item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from instructor_py.common.errors import ConfigurationError
from instructor_py.response_models.base import ResponseModel
from instructor_py.streaming.json_parser import Path
from instructor_py.streaming.partial_model import model_shape, shape_for
from instructor_py.streaming.shapes import MISSING, RAW_SHAPE, Shape

__all__ = ["PartialSpec", "partial_spec"]


@dataclass(frozen=True, slots=True)
class PartialSpec:
    """``object_shape`` builds snapshots of the answer object; ``array_shape`` is set when a bare
    JSON array is also accepted as the answer (sequences: the model may omit the wrapper).
    ``unwrap_field`` names the wrapper field whose snapshot the caller sees (scalars, sequences).
    ``list_field``/``validate_item`` are set for sequences."""

    name: str
    object_shape: Shape
    array_shape: Shape | None = None
    unwrap_field: str | None = None
    list_field: str | None = None
    validate_item: Callable[[Any], Any] | None = None

    @property
    def openers(self) -> str:
        return "{[" if self.array_shape is not None else "{"

    @property
    def list_path(self) -> Path | None:
        return None if self.list_field is None else (self.list_field,)

    def unwrap(self, snapshot: Any, root_is_array: bool) -> Any:
        """The caller's view of a snapshot (``MISSING`` while the wrapped field has not begun)."""
        if self.unwrap_field is None or root_is_array:
            return snapshot
        if isinstance(snapshot, dict):  # a JSON-schema model's wrapper: plain dict snapshots
            value = snapshot.get(self.unwrap_field)
        else:
            value = getattr(snapshot, self.unwrap_field, None)
        return MISSING if value is None else value

    def require_sequence(self) -> Callable[[Any], Any]:
        if self.validate_item is None:
            raise ConfigurationError(
                f"sequence() needs a list response model (Sequence.of(Model) or list[Model]); "
                f"{self.name} is not one. Use partials() to watch it grow."
            )
        return self.validate_item


def partial_spec(response_model: ResponseModel) -> PartialSpec:
    """Read from the response model: its answer model (partial twins; plain dicts without one),
    the field the caller's partials show, and for sequences the list field and its item type."""
    name = response_model.name
    answer = response_model.answer_model
    if answer is None:  # JSON schema dicts, dataclasses, TypedDicts: plain dict snapshots
        return PartialSpec(name, RAW_SHAPE, unwrap_field=response_model.partial_field)
    shape = model_shape(answer)
    list_field = response_model.list_field
    if list_field is None:
        return PartialSpec(name, shape, unwrap_field=response_model.partial_field)
    annotation = answer.model_fields[list_field].annotation
    item_type = getattr(annotation, "__args__", (Any,))[0]
    adapter: TypeAdapter[Any] = TypeAdapter(item_type)
    return PartialSpec(
        name,
        shape,
        array_shape=shape_for(annotation),
        unwrap_field=response_model.partial_field,
        list_field=list_field,
        validate_item=adapter.validate_python,
    )
