"""The local provider's whole numbers: an integer the input does not give, replaced by the input's
number the model finds likeliest there.

A small model copying a number stops early or picks a neighbour's: it writes ``"time": 1`` for
"10 years" (after ``1`` it ends the number rather than writing ``0``) or ``"number": 1`` for "top
5". Greedy decoding cannot undo that: once ``1`` is written, ending there is what the model found
likelier. Read as a choice among the numbers the input gives, the same model gets it right: each
of them is scored as the key's whole value (with what follows it in the answer, so ``10,`` and
``1,`` are compared whole, :func:`~instructor_py.runtime.choice.choose_many`), and the best one
replaces the invented value; the answer is then decoded again from just after it.

A root object's integer property is read this way when its value is not in the input (as digits,
also with a unit or thousands separators: ``5C``, ``12,000``; or as a word: ``three``) nor in the
property's schema (its ``default``, or a number its description writes: ``Default is 1``), and
the input gives at least one other whole number. Values the input gives, and inputs with no numbers
(where the model has to know or compute the value), are left as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from instructor_py.providers.local_choices import resolve, schema_defs, value_spans
from instructor_py.providers.local_optional import grounded
from instructor_py.runtime.choice import ChoiceQuery, ChoiceScores, choose_many

__all__ = [
    "InputChoice",
    "choose_in_place",
    "has_groundable_keys",
    "input_integers",
    "invented_integer",
    "root_values",
]

_MAX_CANDIDATES = 12
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")


def input_integers(text: str) -> list[int]:
    """The whole numbers ``text`` gives, in order, once each: ``12,000`` is 12000 (and 12 and
    0, when the commas separate a list), ``5C`` is 5; decimals are not whole numbers."""
    out: list[int] = []
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        if "." in token:
            continue
        readings = [token.replace(",", "")] + (token.split(",") if "," in token else [])
        for reading in readings:
            value = int(reading)
            if value not in out:
                out.append(value)
    return out


def has_groundable_keys(schema: Mapping[str, Any]) -> bool:
    """Whether the root object schema has an integer or string property (one whose value can be
    replaced by the input's, here or in :mod:`~instructor_py.providers.local_copies`)."""
    props = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(props, Mapping):
        return False
    defs = schema_defs(schema)
    nodes = (resolve(node, defs) for node in props.values())
    return any(isinstance(n, Mapping) and n.get("type") in ("integer", "string") for n in nodes)


@dataclass(frozen=True)
class InputChoice:
    """A value the input does not give and the input's values scored in its place: ``key``, the
    value chosen, the answer's text to resume from (up to and including it), the candidates and
    their scores."""

    key: str
    value: Any
    prefix: str
    candidates: tuple[Any, ...]
    scores: ChoiceScores


def root_values(
    schema: Mapping[str, Any], text: str
) -> list[tuple[str, Mapping[str, Any], int, int]]:
    """The root object's members in the answer ``text``, in the answer's order: ``(key, its
    property's schema with a local ``$ref`` followed, start, end of its value)``; empty when the
    schema is not an object schema or the text not one JSON object."""
    props = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(props, Mapping):
        return []
    defs = schema_defs(schema)
    spans = value_spans(text)
    roots = sorted(((p[0], s) for p, s in spans.items() if len(p) == 1), key=lambda k: k[1][0])
    out = []
    for key, (start, end) in roots:
        node = resolve(props.get(key), defs)
        if isinstance(node, Mapping):
            out.append((key, node, start, end))
    return out


def choose_in_place(
    session: Any,
    prompt_text: str,
    text: str,
    key: str,
    span: tuple[int, int],
    candidates: tuple[Any, ...],
) -> InputChoice | None:
    """The candidate the model scores likeliest as ``key``'s whole value where it stands in the
    answer ``text`` (``span``), each written as JSON with the character that follows the value
    (``10,`` against ``1,``); None when no candidate or the value is not followed by ``,`` or
    ``}``."""
    start, end = span
    after = text[end : end + 1]
    if not candidates or after not in (",", "}"):
        return None
    options = tuple(json.dumps(c, ensure_ascii=False) + after for c in candidates)
    (scores,) = choose_many(session, [ChoiceQuery(prompt_text + text[:start], options)])
    best = candidates[scores.best]
    prefix = text[:start] + json.dumps(best, ensure_ascii=False)
    return InputChoice(key, best, prefix, candidates, scores)


def invented_integer(
    session: Any,
    schema: Mapping[str, Any],
    prompt_text: str,
    text: str,
    input_text: str,
    skip: frozenset[str] = frozenset(),
) -> InputChoice | None:
    """The first root integer property of the answer ``text`` (in the answer's order, keys in
    ``skip`` aside) whose value the input does not give, with the input's numbers scored in its
    place (module docs); None when there is none."""
    numbers = input_integers(input_text)
    for key, node, start, end in root_values(schema, text):
        if key in skip or node.get("type") != "integer":
            continue
        value = json.loads(text[start:end])
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        if value in numbers or grounded(value, input_text) or _schema_gives(value, node):
            continue
        candidates = tuple(n for n in numbers if n != value and _allowed(n, node))
        choice = choose_in_place(
            session, prompt_text, text, key, (start, end), candidates[:_MAX_CANDIDATES]
        )
        if choice is not None:
            return choice
    return None


def _schema_gives(value: int, node: Mapping[str, Any]) -> bool:
    """Whether the property's own schema gives ``value``: its default, or a number its
    description writes (``Default is 1``)."""
    if node.get("default") == value and not isinstance(node.get("default"), bool):
        return True
    description = node.get("description")
    return isinstance(description, str) and value in input_integers(description)


def _allowed(number: int, node: Mapping[str, Any]) -> bool:
    """Whether the schema's bounds allow ``number``."""
    low, high = node.get("minimum"), node.get("maximum")
    if isinstance(low, int | float) and number < low:
        return False
    if isinstance(high, int | float) and number > high:
        return False
    if isinstance(node.get("exclusiveMinimum"), int | float) and number <= node["exclusiveMinimum"]:
        return False
    excl_high = node.get("exclusiveMaximum")
    return not (isinstance(excl_high, int | float) and number >= excl_high)
