"""The local provider's optional keys: kept only when the input is evidence for them.

A small model writes every key it is shown. Under a grammar, an optional key the text never
mentions is still written, with a value the model invents (``"format": "fasta"``, ``"team":
"NBA"``): the answer validates and is wrong. Whether to write an optional key is a choice like an
enum value's, and it is read the same way (:mod:`~instructor_py.runtime.choice`, contextual
calibration): where the answer's last required key ends, the model's probability of going on
with the optional key (``, "format"``) is compared with that of closing the object (``}``), both
divided by the same probabilities after a content-free prompt (the input replaced by ``"N/A"``,
``""`` and ``"[MASK]"``). The key stays when the input makes it likelier than the model's habit
does; otherwise the answer is closed before it.

Only the root object's trailing optional keys are decided (the keys after the last required one,
in the order the answer writes them), one at a time: the first one dropped drops the keys after
it too. An answer whose trailing keys are dropped is decoded again from its cut
(``DecodeOptions.prefix``), so the grammar closes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instructor_py.providers.local_choices import value_spans
from instructor_py.runtime.choice import ChoiceQuery, ChoiceScores, choose_many

__all__ = ["OptionalDecision", "decide_optional", "trailing_optional", "without_keys"]


@dataclass(frozen=True)
class OptionalDecision:
    """What deciding the trailing optional keys did: ``cut`` (the answer's text to resume from,
    closed, or None when every key stays), the keys dropped, the scores of each decision (key ->
    scores of ``[", <key>", "}"]``), and what scoring cost."""

    cut: str | None
    dropped: tuple[str, ...]
    scores: Mapping[str, ChoiceScores]
    passes: int
    seconds: float


def trailing_optional(schema: Mapping[str, Any], text: str) -> list[tuple[str, int, int]]:
    """The root object's trailing optional keys in ``text``: ``(key, end of the value before it,
    end of the key's name)``, in the answer's order. Empty when the answer is not one JSON object
    or its schema is not a plain object schema."""
    props = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(props, Mapping):
        return []
    required = set(schema.get("required") or ())
    spans = value_spans(text)
    keys = sorted(((p[0], s) for p, s in spans.items() if len(p) == 1), key=lambda k: k[1][0])
    out: list[tuple[str, int, int]] = []
    for index in range(len(keys) - 1, 0, -1):  # the first key has no value before it
        name, (start, _) = keys[index]
        if name in required or name not in props:
            break
        before = keys[index - 1][1][1]
        colon = text.rfind(":", before, start)
        if colon < 0:
            break
        out.append((name, before, colon))
    return out[::-1]


def decide_optional(
    session: Any,
    schema: Mapping[str, Any],
    prompt_text: str,
    content_free_prompts: Sequence[str],
    text: str,
) -> OptionalDecision:
    """Decide the trailing optional keys of the answer ``text`` (module docs)."""
    scores: dict[str, ChoiceScores] = {}
    passes = 0
    seconds = 0.0
    trailing = trailing_optional(schema, text)
    for index, (name, before, key_end) in enumerate(trailing):
        prefix = text[:before]
        go_on = text[before:key_end].rstrip()  # e.g. ', "format"'
        if not go_on.startswith(",") or go_on == ",":
            break
        query = ChoiceQuery(
            prompt_text + prefix,
            (go_on, "}"),
            tuple(cf + prefix for cf in content_free_prompts),
        )
        (result,) = choose_many(session, [query])
        scores[name] = result
        passes += result.forward_passes
        seconds += result.seconds
        if result.best == 1:
            dropped = tuple(n for n, _, _ in trailing[index:])
            return OptionalDecision(prefix + "}", dropped, scores, passes, seconds)
    return OptionalDecision(None, (), scores, passes, seconds)


def without_keys(schema: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A copy of the object ``schema`` without the properties ``keys`` (optional ones: the
    ``required`` list does not name them)."""
    out = dict(schema)
    props = schema.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {k: v for k, v in props.items() if k not in set(keys)}
    return out
