"""The one abstraction every response model kind is turned into.

A :class:`ResponseModel` knows what to tell the model (name, description, the JSON schema of the
object the model must produce, the tool name/description for TOOLS mode) and how to turn the JSON
the model produced into the value the caller gets:

1. :meth:`ResponseModel.prepare` -- a lenient reshaping of the extracted JSON (e.g. a bare ``25``
   for a wrapped ``int`` becomes ``{"value": 25}``); never invents data;
2. the pipeline validates the result against :attr:`ResponseModel.json_schema`;
3. :meth:`ResponseModel.deserialize` -- pydantic validation into Python objects (raises
   :class:`pydantic.ValidationError` for model mistakes);
4. :meth:`ResponseModel.unwrap` -- strips the wrapper object of scalars and lists.

The schema sent to the model is always an *object* schema (APIs require it for tools and native
structured output); kinds that are not objects are wrapped in a one-field object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from instructor_py.schema.safe_validator import safe_validator
from instructor_py.schema.safety import check_schema


class ResponseModel(ABC):
    """Base class of every response model kind. Instances are immutable once built."""

    #: Short kind name, e.g. ``"pydantic"``, ``"json_schema"``, ``"scalar"``.
    kind: str = "abstract"

    def __init__(
        self,
        *,
        name: str,
        description: str,
        json_schema: Mapping[str, Any],
        wrapper_field: str | None = None,
        list_field: str | None = None,
    ) -> None:
        check_schema(json_schema, where=f"the {name!r} response model's JSON schema")
        self._name = name
        self._description = description
        self._json_schema = json_schema
        self._wrapper_field = wrapper_field
        self._list_field = list_field

    @property
    def name(self) -> str:
        """The schema name (also the default tool name)."""
        return self._name

    @property
    def description(self) -> str:
        return self._description

    @property
    def json_schema(self) -> Mapping[str, Any]:
        """The (object) JSON schema the model's answer must satisfy."""
        return self._json_schema

    @property
    def reading_schema(self) -> Mapping[str, Any]:
        """The schema the tolerant parser reads an answer with: :attr:`json_schema`, plus what
        it cannot say but the model accepts (a pydantic field's other ``AliasChoices`` names as
        ``"x-aliases"``). Never sent to a provider."""
        return self._json_schema

    @property
    def tool_name(self) -> str:
        return _tool_safe(self._name)

    @property
    def tool_description(self) -> str:
        return self._description or f"Return a {self._name} object."

    @property
    def wrapper_field(self) -> str | None:
        """The field of the wrapper object holding the caller's value (``None``: not wrapped)."""
        return self._wrapper_field

    @property
    def list_field(self) -> str | None:
        """The field of the answer object holding the list (sequences only). Streaming uses it to
        find the items as they complete."""
        return self._list_field

    @property
    def answer_model(self) -> type[BaseModel] | None:
        """The pydantic model of the answer object, when there is one: streaming shows partial
        twins of it (``None``: partials are plain dicts)."""
        return None

    @property
    def partial_field(self) -> str | None:
        """The field of the answer object whose partial value the caller's partials show
        (``None``: the whole answer object)."""
        return self._wrapper_field

    @cached_property
    def schema_validator(self) -> Draft202012Validator:
        """A compiled jsonschema validator for :attr:`json_schema` (built once): regexes on RE2,
        no reference ever retrieved (see :mod:`instructor_py.schema.safety`)."""
        return safe_validator(self._json_schema)

    @cached_property
    def schema_is_valid(self) -> Callable[[Any], bool] | None:
        """A fast validity check for :attr:`json_schema` (``jsonschema-rs``, compiled once;
        formats not asserted, as in :attr:`schema_validator`), or ``None`` when it is not
        installed or cannot compile the schema. Only a "valid" answer is taken from it: errors
        are always reported by :attr:`schema_validator`."""
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - an optional speed-up
            return None
        try:
            validator = jsonschema_rs.Draft202012Validator(
                dict(self._json_schema), validate_formats=False
            )
        except Exception:  # a schema it cannot compile: jsonschema alone decides
            return None
        is_valid: Callable[[Any], bool] = validator.is_valid
        return is_valid

    def prepare(self, data: Any) -> Any:
        """Reshape the extracted JSON leniently before schema validation (default: unchanged)."""
        if self._wrapper_field is not None and not (
            isinstance(data, dict) and self._wrapper_field in data
        ):
            return {self._wrapper_field: data}
        return data

    @abstractmethod
    def deserialize(self, data: Any) -> Any:
        """Turn schema-valid JSON data into Python objects. Raises ``pydantic.ValidationError``."""

    def unwrap(self, obj: Any) -> Any:
        """The caller's value from a deserialized object (default: unchanged)."""
        return obj

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the compiled validators (rebuilt on first use), so that a builder
        can be shipped to other processes (``instructor_py.integrations.ray``)."""
        state = dict(self.__dict__)
        state.pop("schema_validator", None)
        state.pop("schema_is_valid", None)
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"


def _tool_safe(name: str) -> str:
    """Tool names must match ``^[a-zA-Z0-9_-]{1,64}$`` on most APIs."""
    cleaned = "".join(c if (c.isalnum() and c.isascii()) or c in "_-" else "_" for c in name)
    return (cleaned or "response")[:64]
