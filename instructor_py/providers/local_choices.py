"""The local provider's choice fields: enum, ``Literal`` and ``bool`` values chosen by calibrated
scoring, then forced into the constrained output.

Left to the grammar, a small model fills a choice field with the first option it is offered far
more often than the text warrants (the first enum member wins whatever the review says). Here a
choice field's value is read as a distribution instead:

1. the answer is decoded under the schema as usual;
2. the choice fields, in the order the answer writes them, are scored in one sweep: every
   option as the continuation of the prompt and the answer's text up to where the value starts,
   calibrated against the same with the input replaced by content-free text
   (:func:`~instructor_py.runtime.choice.choose_many`: the real prompts reuse the decoded
   answer's KV cache, and a prior already computed for the same text is taken from the model's
   prior cache); the best option is the field's value;
3. when the scored value differs from the decoded one, the answer is decoded again with the
   decided values forced (each such field's schema becomes ``{"enum": [value]}``), resumed from
   the answer's text up to and including the new value (``DecodeOptions.prefix``: only the rest
   is decoded), and the fields after it are checked again at their new place.

At most one decode per choice field plus one; the probabilities of each field are reported on
the generation (``LocalGeneration.field_probabilities``, keyed by JSON path such as
``$.sentiment``) and on the response (``response.field_probabilities``).

Choice fields: an object property (at any depth through objects, ``$ref`` resolved) whose schema
is an ``enum`` of two or more strings, numbers or booleans, ``{"type": "boolean"}``, or an
``anyOf`` of such consts and enums. Nullable choices and choices inside arrays are left to the
grammar.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from instructor_py.common.json_path import json_path
from instructor_py.runtime.choice import (
    CONTENT_FREE_INPUTS,
    ChoiceQuery,
    ChoiceScores,
    choose_many,
)

__all__ = [
    "ChoiceField",
    "ChoiceOutcome",
    "choice_fields",
    "content_free_messages",
    "decide_choices",
    "last_user_text",
    "resolve",
    "schema_defs",
    "value_spans",
]

_MAX_DEPTH = 8


@dataclass(frozen=True)
class ChoiceField:
    """A property whose value is one of ``options`` (JSON values), at ``path`` (keys from the
    root object)."""

    path: tuple[str, ...]
    options: tuple[Any, ...]

    @property
    def json_path(self) -> str:
        return json_path(self.path)


@dataclass(frozen=True)
class ChoiceOutcome:
    """What deciding the choice fields did: the answer's text, the decided values and their
    distributions (path -> {value: probability}), how many decodes it took and what scoring
    cost."""

    text: str
    values: Mapping[str, Any]
    probabilities: Mapping[str, Mapping[Any, float]]
    scores: Mapping[str, ChoiceScores] = field(default_factory=dict)
    decodes: int = 1
    scoring_passes: int = 0
    scoring_seconds: float = 0.0


# --- the schema's choice fields ----------------------------------------------------------------


def choice_fields(schema: Mapping[str, Any]) -> list[ChoiceField]:
    """The choice fields of an object schema (see the module docs), in schema order."""
    defs = schema_defs(schema)
    out: list[ChoiceField] = []
    _walk(schema, (), defs, out, 0)
    return out


def schema_defs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's local definitions (``definitions`` and ``$defs``), for :func:`resolve`."""
    return {**schema.get("definitions", {}), **schema.get("$defs", {})}


def resolve(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with a local ``$ref`` followed (None when it points nowhere)."""
    seen = 0
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and seen < _MAX_DEPTH:
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith(("#/$defs/", "#/definitions/")) or name not in defs:
            return None
        node = defs[name]
        seen += 1
    return node


def _walk(
    node: Any, path: tuple[str, ...], defs: Mapping[str, Any], out: list[ChoiceField], depth: int
) -> None:
    node = resolve(node, defs)
    if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
        return
    props = node.get("properties")
    if not isinstance(props, Mapping):
        return
    for name, sub in props.items():
        resolved = resolve(sub, defs)
        options = _options(resolved, defs)
        if options is not None:
            out.append(ChoiceField((*path, str(name)), options))
        else:
            _walk(resolved, (*path, str(name)), defs, out, depth + 1)


def _options(node: Any, defs: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if not isinstance(node, Mapping):
        return None
    values: list[Any] = []
    if "enum" in node:
        values = list(node["enum"]) if isinstance(node["enum"], list) else []
    elif node.get("type") == "boolean" and "const" not in node:
        values = [True, False]
    elif isinstance(node.get("anyOf"), list):
        for member in node["anyOf"]:
            member = resolve(member, defs)
            if not isinstance(member, Mapping):
                return None
            if "const" in member:
                values.append(member["const"])
            elif isinstance(member.get("enum"), list):
                values.extend(member["enum"])
            else:
                return None
    else:
        return None
    scalar = all(isinstance(v, str | int | float | bool) and v is not None for v in values)
    texts = [json.dumps(v) for v in values]
    if len(values) < 2 or not scalar or len(set(texts)) != len(texts):
        return None
    return tuple(values)


def fix_values(schema: Mapping[str, Any], values: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """A copy of ``schema`` where each decided path's property is ``{"enum": [value]}``."""
    out: dict[str, Any] = json.loads(json.dumps(schema))
    defs = schema_defs(out)
    for path, value in values.items():
        node: Any = out
        for key in path[:-1]:
            node = resolve(node, defs)
            props = node.get("properties") if isinstance(node, Mapping) else None
            if not isinstance(props, dict) or key not in props:
                break
            inner = props[key]
            if isinstance(inner, Mapping) and "$ref" in inner:  # a copy of its own to edit
                inner = json.loads(json.dumps(resolve(inner, defs)))
                props[key] = inner
            node = inner
        else:
            node = resolve(node, defs)
            props = node.get("properties") if isinstance(node, Mapping) else None
            if isinstance(props, dict) and path[-1] in props:
                old = props[path[-1]]
                description = old.get("description") if isinstance(old, Mapping) else None
                props[path[-1]] = {"enum": [value]}
                if description:
                    props[path[-1]]["description"] = description
    return out


# --- where values are in the answer ------------------------------------------------------------


def value_spans(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """path -> (start, end) of each object member's value in the JSON ``text`` (objects only,
    arrays are not entered). Empty when the text is not one JSON value."""
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    try:
        end = _value(text, _skip(text, 0), (), spans, 0)
    except (ValueError, IndexError):
        return {}
    return spans if _skip(text, end) == len(text) else {}


_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _value(
    text: str, i: int, path: tuple[str, ...], spans: dict[tuple[str, ...], tuple[int, int]], d: int
) -> int:
    if text[i] != "{" or d > _MAX_DEPTH:
        _, end = _DECODER.raw_decode(text, i)
        return int(end)
    i = _skip(text, i + 1)
    if text[i] == "}":
        return i + 1
    while True:
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _skip(text, i)
        if text[i] != ":":
            raise ValueError("expected ':'")
        start = _skip(text, i + 1)
        end = _value(text, start, (*path, key), spans, d + 1)
        spans[(*path, key)] = (start, end)
        i = _skip(text, end)
        if text[i] == "}":
            return i + 1
        if text[i] != ",":
            raise ValueError("expected ',' or '}'")
        i = _skip(text, i + 1)


# --- deciding ------------------------------------------------------------------------------------


def _last_user(messages: Sequence[Any]) -> int | None:
    """The index of the last user message (a mapping or a ``Message``), or None."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        role = (
            message.get("role") if isinstance(message, Mapping) else getattr(message, "role", None)
        )
        if role == "user":
            return index
    return None


def last_user_text(messages: Sequence[Any]) -> str:
    """The text of the last user message (its text parts joined; "" when there is none)."""
    items = list(messages)
    index = _last_user(items)
    if index is None:
        return ""
    message = items[index]
    content = (
        message.get("content") if isinstance(message, Mapping) else getattr(message, "content", "")
    )
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return " ".join(p for p in content if isinstance(p, str))
    return ""


def content_free_messages(messages: Sequence[Any]) -> list[list[Any]] | None:
    """The messages with the last user message's content replaced by each content-free input
    (None when there is no user message to replace)."""
    items = list(messages)
    index = _last_user(items)
    if index is None:
        return None
    message = items[index]
    out = []
    for filler in CONTENT_FREE_INPUTS:
        copy = list(items)
        if isinstance(message, Mapping):
            copy[index] = {**message, "content": filler}
        else:
            copy[index] = replace(message, content=filler)
        out.append(copy)
    return out


def decide_choices(
    session: Any,
    schema: Mapping[str, Any],
    fields: Sequence[ChoiceField],
    prompt_text: str,
    content_free_prompts: Sequence[str],
    decode: Callable[[Mapping[str, Any], str], str],
    first_text: str,
) -> ChoiceOutcome:
    """Decide ``fields`` for an answer already decoded as ``first_text`` under ``schema``
    (module docs, steps 2-3); ``decode(schema, prefix)`` decodes the answer again under a schema
    with values fixed, resumed from ``prefix`` (the answer up to and including the value that
    changed), and returns its whole text."""
    decided: dict[tuple[str, ...], tuple[Any, str, ChoiceScores]] = {}
    text = first_text
    decodes = 1
    passes = 0
    seconds = 0.0
    for _ in range(len(fields) + 1):
        spans = value_spans(text)
        ordered = sorted((f for f in fields if f.path in spans), key=lambda f: spans[f.path][0])
        pending = [
            f
            for f in ordered
            if f.path not in decided or decided[f.path][1] != text[: spans[f.path][0]]
        ]
        if not pending:
            break
        # every pending field scored in one sweep (the real prompts extend the decoded answer
        # in the KV cache, then each content-free prompt in turn); a field after one whose
        # value changes is scored again at its new place in the next round
        queries = [
            ChoiceQuery(
                prompt_text + text[: spans[f.path][0]],
                tuple(json.dumps(v, ensure_ascii=False) for v in f.options),
                tuple(cf + text[: spans[f.path][0]] for cf in content_free_prompts),
            )
            for f in pending
        ]
        resume: str | None = None
        for f, scores in zip(pending, choose_many(session, queries), strict=True):
            passes += scores.forward_passes
            seconds += scores.seconds
            start, end = spans[f.path]
            value = f.options[scores.best]
            decided[f.path] = (value, text[:start], scores)
            if json.dumps(json.loads(text[start:end])) != json.dumps(value):
                resume = text[:start] + json.dumps(value, ensure_ascii=False)
                break
        if resume is None:
            break
        text = decode(fix_values(schema, {p: v for p, (v, _, _) in decided.items()}), resume)
        decodes += 1
    return ChoiceOutcome(
        text=text,
        values={json_path(p): v for p, (v, _, _) in decided.items()},
        probabilities={
            json_path(p): {
                opt: prob
                for opt, prob in zip(
                    next(f.options for f in fields if f.path == p), s.probabilities, strict=True
                )
            }
            for p, (_, _, s) in decided.items()
        },
        scores={json_path(p): s for p, (_, _, s) in decided.items()},
        decodes=decodes,
        scoring_passes=passes,
        scoring_seconds=seconds,
    )
