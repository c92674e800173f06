"""Focused retry feedback: when an answer parsed and only some fields failed, ask again for those.

Today's feedback (``retry_feedback="full"``) replays the whole conversation (the system prompt with
the schema, the previous answer as the assistant's turn) and lists the errors. When the answer
parsed into an object and the errors name fields below the root (or fields that are missing), the
focused feedback (``retry_feedback="focused"``, the default) sends instead:

- the caller's messages, with the schema description removed from the system prompt;
- one user message that quotes the valid part of the answer once (the answer with the failing
  fields removed, compact JSON) and names only the failing paths, each with its error and a short
  description of what the field must be (:func:`~instructor_py.schema.prompt.describe_schema`
  wording), then asks for the whole corrected object.

The previous answer is not replayed as an assistant turn, and a second focused retry replaces
the first one's message instead of adding to it, so a retry costs about the caller's messages plus
the answer, not the conversation so far. Anything else (text that did not parse, an error about
the whole answer, a non-object answer) falls back to the full feedback.

Only the prompted modes (JSON, MD_JSON, GRAMMAR) use it: in TOOLS and JSON_SCHEMA modes the schema
rides in the API's own field on every request anyway, so the focused message saved nothing
measurable (``benchmarks/retry_cost.py``: within 2 %) and the full feedback keeps the vendor's
tool-call / tool-result replay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from instructor_py.common.modes import OutputMode
from instructor_py.pipeline.failures import StageFailure
from instructor_py.pipeline.tolerant import ParseResult, parse_tolerant
from instructor_py.providers.base import InferenceRequest, InferenceResponse, Message
from instructor_py.run.schema_text import SCHEMA_PROMPTS, instructions_for
from instructor_py.schema.prompt import describe_schema

__all__ = ["FOCUSED_HEADER", "focused_messages"]

FOCUSED_HEADER = "Your previous answer was almost right; only these fields were rejected:"
_CLOSING = (
    "Answer again with the whole corrected JSON: keep the valid values above and fix only the "
    "fields listed."
)
_PARSED_STAGES = frozenset({"schema", "deserialize", "validate"})
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MISSING = re.compile(r"^'([^']+)' is a required property$")
_PROMPTED = frozenset({OutputMode.JSON, OutputMode.MD_JSON, OutputMode.GRAMMAR})


def focused_messages(
    request: InferenceRequest, response: InferenceResponse, failure: StageFailure
) -> tuple[Message, ...] | None:
    """The next request's messages for a focused retry, or ``None`` when it does not apply."""
    if request.mode not in _PROMPTED or failure.stage not in _PARSED_STAGES or not failure.errors:
        return None  # TOOLS / JSON_SCHEMA: the schema rides in the API's field; nothing to save
    text = response.output_text(request.mode)
    if not text and response.tool_calls:
        text = response.tool_calls[0].arguments
    parsed = parse_tolerant(text, request.response_schema)
    if not isinstance(parsed, ParseResult) or not isinstance(parsed.value, dict):
        return None
    valid: Any = json.loads(json.dumps(parsed.value))
    lines: list[str] = []
    for error in failure.errors:
        steps = _steps(error.path)
        if steps is None:
            return None
        missing = _MISSING.match(error.message)
        if not steps and missing is None:
            return None  # an error about the whole answer: the full feedback says more
        if missing is not None:
            steps = [*steps, missing.group(1)]
        else:
            _remove(valid, steps)
        lines.append(_line(request.response_schema, steps, error.path, error.message, missing))
    body = json.dumps(valid, ensure_ascii=False, separators=(",", ":"))
    content = (
        f"{FOCUSED_HEADER}\n" + "\n".join(lines)
        + f"\nEvery other value was valid:\n{body}\n{_CLOSING}"
    )
    base = _base_messages(request)
    return (*base, {"role": "user", "content": content})


def _steps(path: str) -> list[str | int] | None:
    if not path.startswith("$"):
        return None
    rest = path[1:]
    steps: list[str | int] = []
    pos = 0
    for match in _STEP.finditer(rest):
        if match.start() != pos:
            return None
        pos = match.end()
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return steps if pos == len(rest) else None


def _remove(data: Any, steps: list[str | int]) -> None:
    """Drop the failing value from the quoted answer (a list item is left as ``null`` so the
    other items keep their positions)."""
    for step in steps[:-1]:
        if isinstance(data, dict) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return
    last = steps[-1] if steps else None
    if isinstance(data, dict) and isinstance(last, str):
        data.pop(last, None)
    elif isinstance(data, list) and isinstance(last, int) and last < len(data):
        data[last] = None


def _line(
    schema: Mapping[str, Any],
    steps: list[str | int],
    path: str,
    message: str,
    missing: re.Match[str] | None,
) -> str:
    where = path if missing is None else f"{path.rstrip('.')}.{missing.group(1)}"
    what = _field_kind(schema, steps)
    head = f"- {where}" + (f" ({what})" if what else "")
    return f"{head}: {'missing' if missing is not None else message}"


def _field_kind(schema: Mapping[str, Any], steps: list[str | int]) -> str:
    """What the field at ``steps`` must be, in the compact description's words."""
    wrapper: dict[str, Any] = {"type": "object", "properties": {"f": {}}}
    node = _subschema(schema, steps)
    if node is None:
        return ""
    wrapper["properties"]["f"] = node
    for key in ("$defs", "definitions"):
        if key in schema:
            wrapper[key] = schema[key]
    lines = describe_schema(wrapper).splitlines()
    first = lines[1] if len(lines) > 1 else ""
    match = re.match(r'- "f" \((.*?)(?:, optional)?\)(?:: (.*))?$', first)
    if match is None:
        return ""
    return "; ".join(p for p in match.groups() if p)


def _subschema(schema: Mapping[str, Any], steps: list[str | int]) -> Any:
    node: Any = schema
    for step in steps:
        node = _resolve(schema, node)
        if not isinstance(node, Mapping):
            return None
        if isinstance(step, int):
            node = node.get("items")
        else:
            props = node.get("properties")
            if not isinstance(props, Mapping):
                return None
            node = props.get(step)
    return _resolve(schema, node)


def _resolve(root: Mapping[str, Any], node: Any) -> Any:
    for _ in range(8):
        if not isinstance(node, Mapping):
            return node
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = root
            for part in node["$ref"][2:].split("/"):
                target = target.get(part) if isinstance(target, Mapping) else None
            node = target
            continue
        options = [o for o in node.get("anyOf") or () if o != {"type": "null"}]
        if len(options) == 1 and "properties" not in node:
            node = options[0]
            continue
        return node
    return node


def _base_messages(request: InferenceRequest) -> tuple[Message, ...]:
    """The request's messages without an earlier focused feedback message and, in prompted
    modes, without the schema description at the end of the system prompt."""
    messages = list(request.messages)
    if messages and str(messages[-1].get("content") or "").startswith(FOCUSED_HEADER):
        messages.pop()
    if messages and messages[0].get("role") == "system":
        content = messages[0].get("content")
        if isinstance(content, str):
            kept = _without_schema(content, request.response_schema, request.mode)
            messages = messages[1:] if not kept else [{**messages[0], "content": kept}, *messages[1:]]
    return tuple(messages)


def _without_schema(system: str, schema: Mapping[str, Any], mode: OutputMode) -> str:
    """The system prompt without the schema instructions the request builder put at its end
    (compact or raw)."""
    for style in SCHEMA_PROMPTS:
        text = instructions_for(schema, mode, style)
        if system == text:
            return ""
        if system.endswith("\n\n" + text):
            return system[: -len(text) - 2]
    return system
