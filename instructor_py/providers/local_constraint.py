"""What the local provider enforces for a request, beyond the plain JSON schema.

- ``request.template`` (``with_template``): the template itself, token by token;
- ``MD_JSON`` mode: a real fenced block, ```` ```json\\n{...}\\n``` ````;
- ``request.thinking`` = N (``with_thinking``): up to N tokens of free text (without ``{``, or
  without a backtick before a fence), then the JSON (fenced in MD_JSON).

The JSON part is labeled ``"json"`` and the thinking ``"thinking"``, so the generation's
``segments`` say which text is which. A schema the composite cannot compile exactly (only JSON
schemas have the engine's relaxed fallback) is compiled alone, without fence or thinking.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from instructor_py.common.errors import ConfigurationError, ConstraintCompileError
from instructor_py.common.modes import OutputMode
from instructor_py.constraints.kinds import ConstraintType
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.providers.base import InferenceRequest
from instructor_py.schema.prep import close_object_schemas

__all__ = ["base_constraint", "compile_for_request", "request_constraint"]

logger = logging.getLogger("instructor_py.local")

FENCE_OPEN = "```json\n"
FENCE_CLOSE = "\n```"


def request_constraint(request: InferenceRequest, base: Any, strict_objects: bool = True) -> Any:
    """The ConstraintSpec to enforce, given ``base`` (the response schema's spec, or an explicit
    ``options["constraint"]``, which is kept as it is). ``strict_objects``: close the object
    schemas of a template's json variables, like the response schema's."""
    if request.options.get("constraint") is not None:
        return base
    if request.template is not None:
        template = request.template.closed() if strict_objects else request.template
        return template.to_constraint()
    if base is None or base.kind != ConstraintType.JSON_SCHEMA:
        return base
    fenced = request.mode is OutputMode.MD_JSON
    thinking = request.thinking
    if not fenced and not thinking:
        return base
    parts: list[Any] = []
    if thinking:
        schema = base.schema
        if fenced:
            regex = "[^`]*"  # up to the fence
        elif isinstance(schema, dict) and schema.get("type") == "array":
            regex = r"[^\[]*"
        else:
            regex = "[^{]*"
        parts.append(ConstraintSpec.text(regex=regex, max_tokens=thinking).labeled("thinking"))
    json_part = base.labeled("json")
    parts.extend([FENCE_OPEN, json_part, FENCE_CLOSE] if fenced else [json_part])
    return ConstraintSpec.sequence(*parts)


def compile_for_request(
    model: Any, request: InferenceRequest, base: Any, strict_objects: bool = True
) -> Any:
    """The compiled handle for ``request`` (None without a constraint)."""
    spec = request_constraint(request, base, strict_objects)
    if spec is None:
        return None
    if spec is base or base is None:
        return model.compile(spec)
    try:
        return model.compile(spec)
    except ConstraintCompileError as exc:
        if request.template is not None:
            raise
        logger.info(
            "the fenced/thinking constraint does not compile (%s); enforcing the schema alone", exc
        )
        return model.compile(base)


def base_constraint(
    request: InferenceRequest, strict_objects: bool, *, whitespace: str, required_first: bool
) -> Any:
    """The constraint to enforce: ``options["constraint"]`` when given, else the response schema."""
    explicit = request.options.get("constraint")
    if explicit is not None:
        if not isinstance(explicit, ConstraintSpec):
            raise ConfigurationError(
                "option 'constraint' must be an instructor_py.local.ConstraintSpec "
                f"(got {type(explicit).__name__})"
            )
        return explicit
    schema = request.response_schema
    if not schema:
        return None
    try:
        json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the response schema is not JSON-serialisable: {exc}") from exc
    if strict_objects or required_first:
        schema = close_object_schemas(schema, close=strict_objects, required_first=required_first)
    return ConstraintSpec.json_schema(dict(schema), whitespace=whitespace)  # type: ignore[arg-type]
