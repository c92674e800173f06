"""GRAMMAR mode's plain-text schema description: what a small model reads instead of the schema."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from instructor_py.common.modes import OutputMode
from instructor_py.response_models.factory import to_response_model
from instructor_py.run.request_builder import schema_instructions
from instructor_py.schema.prompt import describe_schema


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    name: str = Field(description="The product name.")
    qty: int = Field(ge=1, le=99)


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Order(BaseModel):
    """An order."""

    number: str = Field(max_length=12)
    color: Color
    items: list[Item]
    note: str | None = None
    tree: Node | None = None
    tags: list[str] = []


def test_keys_types_descriptions_bounds_and_optionality() -> None:
    text = describe_schema(Order.model_json_schema())
    lines = text.splitlines()
    assert lines[0] == "An order."
    assert lines[1] == "Answer with a JSON object with these keys:"
    assert '- "number" (string): at most 12 characters' in lines
    assert '- "color" (one of "red", "blue")' in lines
    assert '- "items" (list of objects, each with these keys)' in lines
    assert '  - "name" (string): The product name.' in lines
    assert '  - "qty" (integer): at least 1; at most 99' in lines
    assert '- "note" (string or null, optional)' in lines
    assert '- "tags" (list of strings, optional): Default: []' in lines


def test_no_schema_syntax_and_recursion_is_bounded() -> None:
    text = describe_schema(Order.model_json_schema())
    for syntax in ("$ref", "$defs", "#/", "anyOf", '"type"', "properties"):
        assert syntax not in text
    # the recursive Node is expanded once and then named, not expanded forever
    assert text.count('"value"') == 1
    assert '"children" (list of objects, each with these keys, optional)' in text


def test_non_object_schemas_and_maps() -> None:
    assert describe_schema({"type": "array", "items": {"type": "integer"}}) == (
        "Answer with JSON: list of integers."
    )
    text = describe_schema(
        {"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "number"}}}}
    )
    assert '- "m" (object mapping names to numbers, optional)' in text


def test_prompted_modes_use_the_text_unless_raw_is_asked() -> None:
    model = to_response_model(Order)
    grammar = schema_instructions(model, OutputMode.GRAMMAR)
    assert grammar == describe_schema(model.json_schema)
    assert schema_instructions(model, OutputMode.JSON).startswith(grammar)
    assert '"properties"' in schema_instructions(model, OutputMode.JSON, "raw")
    assert "```json" in schema_instructions(model, OutputMode.MD_JSON)

