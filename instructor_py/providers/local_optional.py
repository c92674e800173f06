"""The local provider's optional keys: kept only when the input is evidence for them.

A small model writes every key it is shown. Under a grammar, an optional key the text never
mentions is still written, with a value the model invents (``"format": "fasta"``, ``"team":
"NBA"``): the answer validates and is wrong. Whether to write an optional key is a choice like an
enum value's, and it is read the same way (:mod:`~instructor_py.runtime.choice`, contextual
calibration): where the answer's last required key ends, the model's probability of going on
with another key (``,``: the grammar then writes the key) is compared with that of closing the
object (``}``) (both written from the last blank before, so they are tokenized as the model
writes them: ``"Lund",`` against ``"Lund"}``), both
divided by the same probabilities after a content-free prompt (the input replaced by ``"N/A"``,
``""`` and ``"[MASK]"``). The key stays when the input makes it likelier than the model's habit
does; otherwise the answer is closed before it.

Only the root object's trailing optional keys are decided (the keys after the last required one,
in the order the answer writes them), one at a time: the first one dropped drops the keys after
it too. An answer whose trailing keys are dropped is decoded again from its cut
(``DecodeOptions.prefix``), so the grammar closes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instructor_py.providers.local_choices import value_spans
from instructor_py.runtime.choice import ChoiceQuery, ChoiceScores, choose_many

__all__ = [
    "OptionalDecision",
    "decide_optional",
    "grounded",
    "trailing_optional",
    "without_keys",
]


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
    input_text: str = "",
    keep: Sequence[str] = (),
) -> OptionalDecision:
    """Decide the trailing optional keys of the answer ``text`` (module docs); ``input_text``:
    the input the content-free prompts replace (a value copied from it is kept unscored);
    ``keep``: keys kept unscored (the input mentions them)."""
    scores: dict[str, ChoiceScores] = {}
    passes = 0
    seconds = 0.0
    trailing = trailing_optional(schema, text)
    spans = value_spans(text)
    for index, (name, before, key_end) in enumerate(trailing):
        go_on = text[before:key_end].rstrip()  # e.g. ', "format"'
        if not go_on.startswith(",") or go_on == ",":
            break
        start, end = spans[(name,)]
        if name in keep:
            continue
        if grounded(json.loads(text[start:end]), input_text):
            continue  # the input gives this value: evidence enough
        # the options start where a token starts, after the last blank (tokenizers merge the
        # end of a value with what follows: '"' then ',' is one token '",')
        start = _token_start(text, before)
        lead = text[start:before]
        query = ChoiceQuery(
            prompt_text + text[:start],
            (lead + ",", lead + "}"),
            tuple(cf + text[:start] for cf in content_free_prompts),
        )
        (result,) = choose_many(session, [query])
        scores[name] = result
        passes += result.forward_passes
        seconds += result.seconds
        if result.best == 1:
            dropped = tuple(n for n, _, _ in trailing[index:])
            return OptionalDecision(text[:before] + "}", dropped, scores, passes, seconds)
    return OptionalDecision(None, (), scores, passes, seconds)


def without_keys(schema: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A copy of the object ``schema`` without the properties ``keys`` (optional ones: the
    ``required`` list does not name them)."""
    out = dict(schema)
    props = schema.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {k: v for k, v in props.items() if k not in set(keys)}
    return out


def _token_start(text: str, end: int, reach: int = 24) -> int:
    """Just after the last blank before ``end`` (within ``reach`` characters), else ``end``."""
    for i in range(end - 1, max(end - reach, 0) - 1, -1):
        if text[i] in " \t\r\n":
            return i + 1
    return end


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_TENS = "thirty forty fifty sixty seventy eighty ninety"
#: whole numbers as the words a request may write them in
_NUMBER_WORDS = {
    **dict(enumerate(_UNITS.split())),
    **{10 * (i + 3): w for i, w in enumerate(_TENS.split())},
    100: "hundred",
    1000: "thousand",
}


def grounded(value: Any, input_text: str) -> bool:
    """Whether ``value`` is copied from the input: every string and number in it appears there
    as whole words (case-insensitive; a whole number also as its English word, ``three`` for 3).
    Booleans, nulls and empty values never are."""
    leaves: list[tuple[str, ...]] = []

    def walk(node: Any) -> bool:
        if isinstance(node, bool) or node is None:
            return False
        if isinstance(node, int | float):
            whole = isinstance(node, int) or node.is_integer()
            text = str(int(node)) if whole else str(node)
            word = _NUMBER_WORDS.get(int(node)) if whole else None
            leaves.append((text, word) if word else (text,))
            return True
        if isinstance(node, str):
            if not node.strip():
                return False
            leaves.append((node.strip(),))
            return True
        if isinstance(node, list):
            return bool(node) and all(walk(item) for item in node)
        if isinstance(node, dict):
            return bool(node) and all(walk(item) for item in node.values())
        return False

    if not input_text or not walk(value):
        return False
    haystack = input_text.casefold()
    return all(
        any(
            re.search(rf"(?<!\w){re.escape(form.casefold())}(?!\w)", haystack) is not None
            for form in forms
        )
        for forms in leaves
    )
