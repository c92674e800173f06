"""Building the first :class:`InferenceRequest` of a structured-output call, per output mode.

Message order: the system message (the caller's ``system`` or first system message, plus the schema
instructions in JSON / MD_JSON / GRAMMAR modes), the examples as user/assistant pairs, the
caller's messages, then ``prompt`` as a final user message.

- ``TOOLS``: ``request.tool`` is a :class:`ToolSpec` (name/description from the response model,
  or ``tool_name``/``tool_description``); the driver forces the call.
- ``JSON_SCHEMA``: the driver sends ``request.response_schema`` as native structured output.
- ``JSON``: the schema goes into the system prompt; the driver turns on JSON mode.
- ``MD_JSON``: the schema goes into the system prompt with the request for a fenced ```json block.
- ``GRAMMAR``: local constrained decoding enforces the schema; the prompt describes it in plain
  text (:func:`~instructor_py.schema_text.describe_schema`: keys, types, descriptions) so the model
  knows what the fields mean without seeing schema syntax it could copy.

``response_schema`` is always set (drivers and the local engine may use it in any mode).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from instructor_py.messages import Example
from instructor_py.modes import OutputMode
from instructor_py.providers.base import InferenceRequest, Message, ToolSpec
from instructor_py.response_models.base import ResponseModel
from instructor_py.schema_text import describe_schema

_PROMPTED_MODES = frozenset({OutputMode.JSON, OutputMode.MD_JSON, OutputMode.GRAMMAR})


def schema_instructions(response_model: ResponseModel, mode: OutputMode) -> str:
    if mode is OutputMode.GRAMMAR:
        # the grammar enforces the syntax; the prompt only says what the fields mean, in text a
        # small model reads (and cannot copy schema syntax from)
        return describe_schema(response_model.json_schema)
    schema = json.dumps(response_model.json_schema, ensure_ascii=False, separators=(",", ":"))
    if mode is OutputMode.MD_JSON:
        return (
            "Answer with a JSON object that satisfies this JSON schema:\n"
            f"{schema}\n"
            "Return the JSON object inside a fenced ```json code block."
        )
    return (
        "Answer with a JSON object that satisfies this JSON schema:\n"
        f"{schema}\n"
        "Return only the JSON object, with no other text."
    )


def _example_messages(examples: tuple[Example, ...], mode: OutputMode) -> list[Message]:
    out: list[Message] = []
    for ex in examples:
        answer = ex.output_json()
        if mode is OutputMode.MD_JSON:
            answer = f"```json\n{answer}\n```"
        out.append({"role": "user", "content": ex.input})
        out.append({"role": "assistant", "content": answer})
    return out


def build_messages(
    *,
    messages: tuple[Message, ...],
    response_model: ResponseModel,
    mode: OutputMode,
    system: str | None = None,
    prompt: str | None = None,
    examples: tuple[Example, ...] = (),
) -> tuple[Message, ...]:
    rest = list(messages)
    system_parts: list[str] = []
    if rest and rest[0].get("role") == "system" and isinstance(rest[0].get("content"), str):
        system_parts.append(rest.pop(0)["content"])
    if system:
        system_parts.insert(0, system)
    if mode in _PROMPTED_MODES:
        system_parts.append(schema_instructions(response_model, mode))
    out: list[Message] = []
    if system_parts:
        out.append({"role": "system", "content": "\n\n".join(system_parts)})
    out.extend(_example_messages(examples, mode))
    out.extend(rest)
    if prompt:
        out.append({"role": "user", "content": prompt})
    return tuple(out)


def build_request(
    *,
    messages: tuple[Message, ...],
    response_model: ResponseModel,
    mode: OutputMode,
    system: str | None = None,
    prompt: str | None = None,
    examples: tuple[Example, ...] = (),
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
    tool_name: str | None = None,
    tool_description: str | None = None,
) -> InferenceRequest:
    tool = None
    if mode is OutputMode.TOOLS:
        tool = ToolSpec(
            name=tool_name or response_model.tool_name,
            description=tool_description or response_model.tool_description,
            parameters=response_model.json_schema,
        )
    return InferenceRequest(
        messages=build_messages(
            messages=messages,
            response_model=response_model,
            mode=mode,
            system=system,
            prompt=prompt,
            examples=examples,
        ),
        mode=mode,
        response_schema=response_model.json_schema,
        schema_name=response_model.tool_name,
        model=model,
        tool=tool,
        options=dict(options or {}),
    )
