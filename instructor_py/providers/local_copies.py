"""The local provider's slipped copies: a string that starts copying a word of the input and slips
inside it, replaced by the input's words the model finds likeliest there.

A small model copying a name slips into a likelier spelling half-way through a word:
``"Stradiviano"`` for 'Stradivarius', ``"Liverly"`` for "Liverpool F.C.". The text it was copying
is right there in the input, and the same model reads it right as a choice: each run of the
input's words from where the copy started (the slipped word, then up to three more) is scored as
the key's whole value (:func:`~instructor_py.runtime.choice.choose_many`), and the best one
replaces the slipped value; the answer is then decoded again from just after it.

A root object's plain string property (no enum, pattern, format or length bounds) is read this
way when its value is not copied from the input as a whole, and its longest common beginning with
the input, at the start of one of the input's words, is at least three characters long and ends
inside a word on both sides (so ``"EUR"`` for "Euros", a date written another way, or a value
that goes on after a copied phrase are left alone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from instructor_py.providers.local_numbers import InputChoice, choose_in_place, root_values
from instructor_py.providers.local_optional import grounded

__all__ = ["slip_candidates", "slipped_string"]

_MIN_COMMON = 3
_MORE_WORDS = 3
_TRAILING = ",;:!?\"')]}"


def slip_candidates(value: str, input_text: str) -> list[str]:
    """The runs of ``input_text``'s words ``value`` slipped while copying (module docs): from the
    word where the copy started to the end of the slipped word and of each of the next three;
    empty when ``value`` did not slip."""
    if len(value) < _MIN_COMMON or grounded(value, input_text):
        return []
    low_value, low_input = value.lower(), input_text.lower()
    if len(low_value) != len(value) or len(low_input) != len(input_text):
        return []
    best, at = 0, -1
    for match in re.finditer(r"\b\w", low_input):
        start = match.start()
        common = 0
        for a, b in zip(low_value, low_input[start:], strict=False):
            if a != b:
                break
            common += 1
        if common > best:
            best, at = common, start
    inside = (
        _MIN_COMMON <= best < len(value)
        and at + best < len(input_text)
        and value[best - 1].isalnum()
        and value[best].isalnum()
        and input_text[at + best].isalnum()
    )
    if not inside:
        return []
    out: list[str] = []
    for match in re.finditer(r"\S+", input_text[at + best :]):
        end = at + best + match.end()
        word = input_text[at:end]
        cut = word.rstrip(_TRAILING)
        if cut.endswith(".") and "." not in cut.split()[-1][:-1]:
            cut = cut[:-1]  # a sentence's full stop, not an abbreviation's (F.C.)
        if cut and cut not in out:
            out.append(cut)
        if len(out) > _MORE_WORDS or cut != word:
            break
    return out


def slipped_string(
    session: Any,
    schema: Mapping[str, Any],
    prompt_text: str,
    text: str,
    input_text: str,
    skip: frozenset[str] = frozenset(),
) -> InputChoice | None:
    """The first root plain-string property of the answer ``text`` (in the answer's order, keys
    in ``skip`` aside) whose value slipped while copying the input, with the input's runs of
    words scored in its place (module docs); None when there is none."""
    for key, node, start, end in root_values(schema, text):
        if key in skip or not _plain_string(node):
            continue
        value = json.loads(text[start:end])
        if not isinstance(value, str):
            continue
        candidates = tuple(c for c in slip_candidates(value, input_text) if c != value)
        choice = choose_in_place(session, prompt_text, text, key, (start, end), candidates)
        if choice is not None:
            return choice
    return None


def _plain_string(node: Any) -> bool:
    if not isinstance(node, Mapping) or node.get("type") != "string":
        return False
    bounds = ("enum", "const", "pattern", "format", "minLength", "maxLength")
    return not any(k in node for k in bounds)
