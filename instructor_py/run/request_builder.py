"""Building the first :class:`InferenceRequest` of a structured-output call, per output mode.

Message order: the system message (the caller's ``system`` or first system message, plus the schema
instructions in JSON / MD_JSON / GRAMMAR modes), the examples as user/assistant pairs, the
caller's messages, then ``prompt`` as a final user message.

- ``TOOLS``: ``request.tool`` is the :class:`ToolSpec` resolved by ``build_plan``; the driver
  forces the call.
- ``JSON_SCHEMA``: the driver sends ``request.response_schema`` as native structured output.
- ``JSON``: the schema goes into the system prompt; the driver turns on JSON mode.
- ``MD_JSON``: the schema goes into the system prompt with the request for a fenced ```json block.
- ``GRAMMAR``: local constrained decoding enforces the schema; the prompt only has to say what the
  fields mean.

How the schema is shown in these three prompted modes is the call's ``schema_prompt`` part:
``"compact"`` (the default) is the plain-text type description of
:func:`~instructor_py.schema.prompt.describe_schema` (keys, types, descriptions, bounds, enums,
optionality: about a third fewer prompt tokens over the MaskBench schemas, see
``docs/benchmarks.md``, and no schema syntax a small model could copy); ``"raw"`` is the JSON
schema itself (compact JSON). TOOLS and JSON_SCHEMA modes send the schema in the API's own field
either way.

``response_schema`` is always set (drivers and the local engine may use it in any mode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from instructor_py.common.modes import OutputMode
from instructor_py.providers.base import InferenceRequest, Message, ToolSpec
from instructor_py.response_models.base import ResponseModel
from instructor_py.run.messages import Example
from instructor_py.run.schema_text import SCHEMA_PROMPTS, instructions_for, schema_instructions

if TYPE_CHECKING:
    from instructor_py.run.call_spec import CallSpec

__all__ = [
    "SCHEMA_PROMPTS",
    "build_messages",
    "build_request",
    "instructions_for",
    "schema_instructions",
]

_PROMPTED_MODES = frozenset({OutputMode.JSON, OutputMode.MD_JSON, OutputMode.GRAMMAR})


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
    spec: CallSpec, response_model: ResponseModel, mode: OutputMode
) -> tuple[Message, ...]:
    rest = list(spec.messages)
    system_parts: list[str] = []
    if rest and rest[0].get("role") == "system" and isinstance(rest[0].get("content"), str):
        system_parts.append(rest.pop(0)["content"])
    if spec.system:
        system_parts.insert(0, spec.system)
    if mode in _PROMPTED_MODES:
        system_parts.append(schema_instructions(response_model, mode, spec.schema_prompt))
    out: list[Message] = []
    if system_parts:
        out.append({"role": "system", "content": "\n\n".join(system_parts)})
    out.extend(_example_messages(spec.examples, mode))
    out.extend(rest)
    if spec.prompt:
        out.append({"role": "user", "content": spec.prompt})
    return tuple(out)


def build_request(
    spec: CallSpec,
    response_model: ResponseModel,
    *,
    mode: OutputMode,
    model: str | None,
    tool: ToolSpec | None,
) -> InferenceRequest:
    """The first request, from the call spec and what :func:`~instructor_py.run.plan.build_plan`
    resolved (mode, model, tool)."""
    return InferenceRequest(
        messages=build_messages(spec, response_model, mode),
        mode=mode,
        response_schema=response_model.json_schema,
        schema_name=response_model.tool_name,
        model=model,
        tool=tool,
        options=dict(spec.options),
        media_policy=spec.media_policy,
    )
