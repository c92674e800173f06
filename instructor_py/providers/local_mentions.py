"""The local provider's mentioned keys: keys and options the input names, written even when the
model leaves them out or scores them off.

A small model leaves out optional keys the request asks for ("... including the precipitation"
has no ``include_precipitation``; "with verdict" has no ``with_verdict``); when it writes a flag,
the flag's calibrated score can still turn it off; it picks ``"Scenic"`` for "the shortest
route", and fills a list of choices with every option. The words of the schema's names are
evidence the model's probabilities miss.

A key is mentioned when every word of its name that carries meaning (its name split at ``_``,
``-`` and case changes, without the words that only make a flag of it: ``include``, ``with``,
``show``...) appears in the last user message, as a word or a form of one (``owners`` for
``owner``, ``avoided`` for ``avoid``, ``statistics`` for ``stats``). An option is named when all
of its words do, and no negation (``not``, ``without``, ``no``...) comes just before them.

- an optional boolean that is mentioned is written with the value the request states: ``true``,
  or ``false`` when a negation comes just before its subject. A flag whose name negates
  (``avoid_tolls``, ``exclude_weekends``) is ``true`` when the request says that word or a
  negation too, and is left to the model otherwise;
- a choice of strings (an enum, required or optional) is the one option the request names, when
  it names exactly one (options of generic words such as ``all`` or ``yes`` are never named);
- a list of such choices is the options the request names, in the request's order;
- any other optional key that is mentioned is decoded by the model after the key, and kept only
  when its value is copied from the input
  (:func:`~instructor_py.providers.local_optional.grounded`): a key whose value the request does
  not give stays as the model left it.

Only the root object's properties are read, and only when the answer is the bare schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instructor_py.providers.local_choices import resolve, schema_defs, value_spans

__all__ = ["Mention", "MentionEdit", "mention_edit", "mentioned_keys", "name_words"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: words that make a flag of a name without saying what it is about
_FLAG_WORDS = _words(
    "a an and as at by do for from get has have in include includes is of on or should show "
    "the to use using want with enable enabled allow consider return fetch add set flag option "
    "retrieve need only whether"
)
#: words that turn a flag's meaning around (``avoid_tolls`` is on when tolls are to be avoided)
_NEGATING_NAMES = _words(
    "avoid exclude skip no without disable hide ignore omit remove drop except not disallow "
    "prevent block"
)
#: words of the request that negate what follows them
_NEGATIONS = _words(
    "no not without never exclude excluding except skip skipping omit omitting avoid avoiding "
    "don't dont doesn't doesnt isn't won't neither nor"
)
#: option words too generic to name an option
_GENERIC_OPTIONS = _FLAG_WORDS | _words(
    "all any none other others default auto yes no true false both"
)
_NEGATION_REACH = 3  # words before a subject a negation reaches


@dataclass(frozen=True)
class Mention:
    """A key the input names: ``value`` is the value it states (a boolean, the one enum option
    it names, the list of options it names for an array of them), None for an optional key whose
    value is left to the model."""

    key: str
    value: bool | str | list[str] | None


def name_words(name: str) -> list[str]:
    """A key's name in lower-case words: ``include_owner`` -> ``["include", "owner"]``,
    ``fullName`` -> ``["full", "name"]``, ``HTTPStatus2`` -> ``["http", "status", "2"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return re.findall(r"[a-z]+|[0-9]+", spaced.casefold())


def _text_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.casefold())


def _same_word(a: str, b: str) -> bool:
    """``a`` and ``b`` are one word in two forms: equal, or sharing a beginning of at least four
    letters that is most of the shorter one (``owner``/``owners``, ``stats``/``statistics``)."""
    if a == b:
        return True
    short = min(len(a), len(b))
    if short < 4:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and common >= 0.75 * short


def _find(word: str, words: Sequence[str]) -> int | None:
    for index, candidate in enumerate(words):
        if _same_word(word, candidate):
            return index
    return None


def _negated(words: Sequence[str], at: int) -> bool:
    return any(w in _NEGATIONS for w in words[max(at - _NEGATION_REACH, 0) : at])


def mention(
    name: str, schema: Any, words: Sequence[str], defs: Mapping[str, Any]
) -> Mention | None:
    """Whether the request's ``words`` mention the key ``name`` (module docs), and the value they
    state for a boolean or a choice of strings."""
    node = resolve(schema, defs)
    options = _string_options(node, defs)
    if options is not None:
        named = _named(options, words)
        return Mention(name, named[0]) if len(named) == 1 else None
    array = isinstance(node, Mapping) and node.get("type") == "array"
    options = _string_options(resolve(node.get("items"), defs), defs) if array else None
    if options is not None:
        named = _named(options, words)
        return Mention(name, named) if named else None
    parts = name_words(name)
    negating = [p for p in parts if p in _NEGATING_NAMES]
    subject = [p for p in parts if p not in _FLAG_WORDS and p not in _NEGATING_NAMES]
    places = [_find(p, words) for p in subject if len(p) >= 2]
    if not places or any(place is None for place in places):
        return None
    first = min(p for p in places if p is not None)
    if not isinstance(node, Mapping) or node.get("type") != "boolean":
        return Mention(name, None)
    if negating:
        said = any(_find(n, words) is not None for n in negating) or _negated(words, first)
        return Mention(name, True) if said else None
    return Mention(name, not _negated(words, first))


def _string_options(node: Any, defs: Mapping[str, Any]) -> list[str] | None:
    """The options of an enum of two or more strings, else None."""
    values = node.get("enum") if isinstance(node, Mapping) else None
    if not isinstance(values, list) or len(values) < 2:
        return None
    return values if all(isinstance(v, str) for v in values) else None


def _named(options: Sequence[str], words: Sequence[str]) -> list[str]:
    """The options the request names (every word of the option, not negated), in the request's
    order. Options of generic words only (``all``, ``none``, ``yes``) are never named."""
    found: list[tuple[int, str]] = []
    for option in options:
        parts = [p for p in re.findall(r"[a-z0-9]+", option.casefold()) if len(p) >= 2]
        parts = [p for p in parts if p not in _GENERIC_OPTIONS]
        places = [_find(p, words) for p in parts]
        if not places or any(place is None for place in places):
            continue
        at = min(p for p in places if p is not None)
        if not _negated(words, at):
            found.append((at, option))
    return [option for _, option in sorted(found, key=lambda f: f[0])]


def mentioned_keys(schema: Mapping[str, Any], input_text: str) -> list[Mention]:
    """The root object's keys the input mentions, in schema order: optional ones, and required
    ones whose value the input states (a choice of strings)."""
    props = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(props, Mapping) or not input_text:
        return []
    defs = schema_defs(schema)
    required = set(schema.get("required") or ())
    words = _text_words(input_text)
    out = []
    for name, sub in props.items():
        found = mention(str(name), sub, words, defs)
        if found is None or (name in required and not isinstance(found.value, str | list)):
            continue
        out.append(found)
    return out


# --- writing them ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentionEdit:
    """One mentioned key to write: the answer's text to resume from (ending with the key, and
    with the value when the request states it) and the key."""

    prefix: str
    mention: Mention


def mention_edit(schema: Mapping[str, Any], text: str, found: Mention) -> MentionEdit | None:
    """Where ``text`` (the answer, one JSON object) has to change for ``found``: None when it
    already says what the input does (the key is there, with the stated value)."""
    props = schema.get("properties")
    spans = value_spans(text)
    if not isinstance(props, Mapping) or found.key not in props or not spans:
        return None  # not an object answer, or a key the schema no longer has (dropped)
    if (found.key,) in spans:
        start, end = spans[(found.key,)]
        if found.value is None or json.loads(text[start:end]) == found.value:
            return None
        return MentionEdit(text[:start] + _dump(found.value, text), found)
    present = sorted((s for p, s in spans.items() if len(p) == 1), key=lambda s: s[0])
    if not present:
        return None
    order = list(props)
    index = order.index(found.key)
    before = [spans[(k,)] for k in order[:index] if (k,) in spans]
    colon = _colon(text, present[0][0])
    if before:
        cut = before[-1][1]
        separator = _separator(text, present)
    elif found.value is not None:  # before the first key: the keys after it are written again
        cut = text.rfind('"', 0, present[0][0] - len(colon) - 1)
        separator = ""
    else:
        return None  # a value to decode there would have the whole answer written again
    written = separator + json.dumps(found.key) + colon
    if found.value is not None:
        written += _dump(found.value, text)
    return MentionEdit(text[:cut] + written, found)


def _dump(value: Any, text: str) -> str:
    """``value`` as JSON in the answer's own spacing (a list ``["a","b"]`` when the answer is
    compact, ``["a", "b"]`` otherwise), so the grammar that wrote the answer accepts it."""
    compact = '":' in text and '": ' not in text
    return json.dumps(value, ensure_ascii=False, separators=(",", ":") if compact else None)


def _colon(text: str, value_start: int) -> str:
    """What the answer writes between a key's closing quote and its value (``": "``)."""
    quote = text.rfind('"', 0, value_start)
    return text[quote + 1 : value_start]


def _separator(text: str, present: Sequence[tuple[int, int]]) -> str:
    """What the answer writes between a value and the next key (``", "``)."""
    if len(present) < 2:
        return ", "
    end = present[0][1]
    return text[end : text.index('"', end)]
