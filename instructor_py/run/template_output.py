"""Template answers (``with_template``) and thinking (``with_thinking``) in the SDK.

With a template, the answer is the template filled in (literal text and variables), not a JSON
document:

- the prompt shows the template (:func:`template_instructions`) instead of the JSON schema;
- ``request.template`` carries it to the driver: the local provider constrains the output to the
  template token by token, remote providers receive only the prompt (in a plain-text mode);
- the ``extract`` stage (:class:`TemplateExtractStage`) reads the variables from the answer with
  the template's own pattern (named groups); a mismatch is a validation failure fed back to the
  model. The value is the dict of variables, or the response model validated from it;
- streaming partials (:class:`~instructor_py.streaming.template_assembler.TemplateAssembler`)
  are the variables found so far.

With thinking (``N`` tokens), the local provider lets the model write up to ``N`` tokens of free
text before the JSON; the prompt says so in the prompted modes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from instructor_py.common.errors import ConfigurationError
from instructor_py.common.modes import OutputMode
from instructor_py.guidance import GuidanceTemplate, GuidanceTemplateType
from instructor_py.guidance.parts import TemplateLiteral
from instructor_py.pipeline.failures import StageFailure
from instructor_py.pipeline.stages import PipelineContext
from instructor_py.providers.base import InferenceProvider, InferenceRequest, Message
from instructor_py.response_models.base import ResponseModel
from instructor_py.response_models.factory import to_response_model
from instructor_py.run.call_spec import CallSpec
from instructor_py.run.messages import Example
from instructor_py.run.request_builder import build_messages

__all__ = [
    "TemplateExtractStage",
    "apply_template",
    "apply_thinking",
    "template_instructions",
    "template_response_model",
    "to_template",
]

#: Where a template's values are kept in ``PipelineContext.extra``.
TEMPLATE_KEY = "template"
_JSON_MODES = frozenset({OutputMode.TOOLS, OutputMode.JSON_SCHEMA, OutputMode.JSON})
_PROMPTED = frozenset({OutputMode.JSON, OutputMode.MD_JSON, OutputMode.GRAMMAR})


def to_template(template: Any, variables: Mapping[str, Any] | None = None) -> GuidanceTemplate:
    """A :class:`GuidanceTemplate` from its source text (parsed now: errors name the line and
    column) or an existing one (``variables`` must then be None)."""
    if isinstance(template, GuidanceTemplate):
        if variables is not None:
            raise ConfigurationError(
                "with_template(GuidanceTemplate(...), variables=...): the template already has "
                "its variables; pass the source text instead"
            )
        return template
    if not isinstance(template, str):
        raise TypeError(
            f"template must be a str or a GuidanceTemplate, got {type(template).__name__}"
        )
    return GuidanceTemplate(template, variables)


def template_response_model(template: GuidanceTemplate) -> ResponseModel:
    """The response model of a template call without one: a dict of its variables."""
    return to_response_model(template.variable_schema())


def template_instructions(template: GuidanceTemplate) -> str:
    """The system-prompt text asking for the template filled in."""
    shown: list[str] = []
    slots: list[str] = []
    for part in template.parts:
        if isinstance(part, TemplateLiteral):
            shown.append(part.text)
            continue
        shown.append(f"<{part.name}>")
        if part.type is GuidanceTemplateType.SELECT:
            slots.append(
                f"- <{part.name}>: exactly one of {', '.join(repr(o) for o in part.options)}"
            )
        elif part.type is GuidanceTemplateType.JSON:
            slots.append(f"- <{part.name}>: a JSON value matching this JSON schema: {part.schema}")
        elif part.regex is not None:
            slots.append(f"- <{part.name}>: text matching the regular expression {part.regex}")
        else:
            slots.append(f"- <{part.name}>: text")
    return (
        "Answer by filling in this template. Copy its fixed text exactly and replace each "
        "<slot> with its value:\n" + "".join(shown) + "\n\nSlots:\n" + "\n".join(slots)
    )


def apply_template(
    request: InferenceRequest,
    context: PipelineContext,
    spec: CallSpec,
    template: GuidanceTemplate,
    provider: InferenceProvider,
) -> tuple[InferenceRequest, PipelineContext, CallSpec]:
    """The request, context and call spec of a template answer (applied before the plan is
    built): template instructions instead of the schema, a plain-text mode (a JSON mode is
    replaced by MD_JSON, or GRAMMAR on a local model), ``request.template`` set, the template
    extract stage, the template in the context."""
    mode = request.mode
    if mode in _JSON_MODES:
        for candidate in (OutputMode.GRAMMAR, OutputMode.MD_JSON):
            if candidate in provider.supported_modes:
                mode = candidate
                break
        else:
            raise ConfigurationError(
                f"provider {provider.name!r} supports no plain-text output mode (md_json or "
                "grammar), which a template answer needs"
            )
    instructions = template_instructions(template)
    parts = [p for p in (spec.system, instructions) if p]
    text_spec = replace(spec, system="\n\n".join(parts), examples=())
    # TOOLS adds no JSON-schema instructions
    built = list(build_messages(text_spec, context.response_model, OutputMode.TOOLS))
    built[1:1] = _example_messages(template, spec.examples)  # after the system message
    request = replace(
        request,
        messages=tuple(built),
        mode=mode,
        tool=None,
        template=template,
    )
    context = replace(context, extra={**context.extra, TEMPLATE_KEY: template})
    pipeline = spec.pipeline.replace("extract", TemplateExtractStage())
    return request, context, replace(spec, pipeline=pipeline)


def _example_messages(template: GuidanceTemplate, examples: tuple[Example, ...]) -> list[Message]:
    """Each example as a user message and the template filled in with its output."""
    out: list[Message] = []
    for i, ex in enumerate(examples):
        answer = ex.output
        if not isinstance(answer, str):
            plain = json.loads(ex.output_json())
            if not isinstance(plain, Mapping):
                raise ConfigurationError(
                    f"example {i}: a template example's output is a dict of the variables (or "
                    f"the filled-in text), got {type(plain).__name__}"
                )
            try:
                answer = template.render(plain)
            except ValueError as exc:
                raise ConfigurationError(f"example {i}: {exc}") from None
        out.append({"role": "user", "content": ex.input})
        out.append({"role": "assistant", "content": answer})
    return out


def apply_thinking(request: InferenceRequest, tokens: int) -> InferenceRequest:
    """``request`` with ``thinking`` set and, in the prompted modes, the system prompt allowing a
    short plain-text reasoning before the answer."""
    messages = list(request.messages)
    if request.mode in _PROMPTED and request.template is None:
        note = (
            "Before the JSON, first think step by step in a few short sentences of plain text "
            "(without braces), then write the JSON."
        )
        if messages and messages[0].get("role") == "system":
            messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{note}"}
        else:
            messages.insert(0, {"role": "system", "content": note})
    return replace(request, messages=tuple(messages), thinking=tokens)


@dataclass(frozen=True, slots=True)
class TemplateExtractStage:
    """Text -> the template's variables (a dict), then the response model's ``prepare``."""

    name: str = "extract"

    def run(self, value: Any, ctx: PipelineContext) -> Any:
        template = ctx.extra.get(TEMPLATE_KEY)
        if not isinstance(template, GuidanceTemplate):
            return StageFailure.single(self.name, "no template in the pipeline context")
        text = value if isinstance(value, str) else str(value)
        try:
            values = template.parse_answer(text)
        except ValueError as exc:
            return StageFailure.single(
                self.name, f"{exc}; answer by filling in the template exactly as shown"
            )
        return ctx.response_model.prepare(_coerce(values, template, ctx.response_model))


_SCALARS = {"integer": int, "number": (int, float), "boolean": bool, "null": type(None)}


def _coerce(
    values: dict[str, Any], template: GuidanceTemplate, model: ResponseModel
) -> dict[str, Any]:
    """Generated text read as the JSON scalar the response model's field expects (``"36"`` ->
    ``36`` for an integer field); other values stay as they are."""
    props = model.json_schema.get("properties")
    if not isinstance(props, Mapping):
        return values
    out = dict(values)
    for var in template.get_variable_sequence():
        if var.type is GuidanceTemplateType.JSON or var.name not in out:
            continue
        want = (
            props.get(var.name, {}).get("type")
            if isinstance(props.get(var.name), Mapping)
            else None
        )
        kinds = [want] if isinstance(want, str) else list(want or [])
        expected = tuple(t for k in kinds if k in _SCALARS for t in _as_tuple(_SCALARS[k]))
        if not expected:
            continue
        try:
            parsed = json.loads(out[var.name].strip())
        except (ValueError, AttributeError):
            continue
        if isinstance(parsed, expected) and not (isinstance(parsed, bool) and bool not in expected):
            out[var.name] = parsed
    return out


def _as_tuple(t: Any) -> tuple[Any, ...]:
    return t if isinstance(t, tuple) else (t,)
