"""Reading scalars out of strings, only where one reading is possible.

Numbers: ``"42"``, ``"12,111"`` (a comma followed by exactly three digits groups thousands; any
other comma, as in ``"1,5"``, could be a decimal comma and is refused), a currency sign or code
(``"$1,200.50"``, ``"1200 EUR"``), a unit word after the number (``"12 kg"``). Scale words
(``"1.2 million"``, ``"12k"``) and percentages are refused: the number they stand for is not the
one written. An integer is never made from a fraction (``"3.7"``).

Booleans: ``true``/``false``/``yes``/``no`` in any case. Enums: a member matched without case and
punctuation (``"in progress"`` for ``IN_PROGRESS``), or the only member named in a sentence
(``"POSITIVE - the review is glowing"``), unless a negation comes right before it.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["NULL_WORDS", "Refused", "Unreadable", "bool_in_text", "match_enum", "read_bool", "read_number"]


class Unreadable(Exception):
    """The string holds no value of the wanted kind."""


class Refused(Exception):
    """The string could be read in more than one way (or only by losing information)."""


_CURRENCY_SIGNS: Final = "$€£¥₹"
_CURRENCY_CODE = re.compile(r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|SEK|NOK|DKK)\b")
_HEAD = re.compile(r"[+-]?(?:\d[\d,.]*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_UNIT = re.compile(r"(?:[^\W\d_]|[°µ/²³])[^\d%]{0,24}")
_SCALE_WORDS: Final = frozenset(
    {
        "k", "m", "b", "bn", "mm", "mn", "t", "thousand", "thousands", "million", "millions",
        "billion", "billions", "trillion", "hundred", "hundreds", "dozen", "lakh", "crore",
        "percent", "pct", "per", "x", "e",
    }
)
_TRUE: Final = frozenset({"true", "yes", "y"})
_FALSE: Final = frozenset({"false", "no", "n"})
_NEGATIONS: Final = frozenset(
    {"not", "no", "never", "isn't", "wasn't", "aren't", "isnt", "wasnt", "neither", "nor",
     "without", "hardly", "non", "don't", "doesn't", "didn't"}
)
MAX_MENTIONS: Final = 32
"""Mentions of enum values looked at in a sentence (an answer names one or two)."""
_PUNCT = re.compile(r"[\W_]+")
_WORD = re.compile(r"[\w']+")


def read_number(text: str, integer: bool) -> tuple[int | float, str]:
    """The number in ``text`` and the repair kind that read it. Raises :class:`Unreadable` or
    :class:`Refused` (module docstring)."""
    s = text.strip().replace("\u2212", "-")  # a typographic minus sign
    kind = "string_to_number"
    if s and s[0] in _CURRENCY_SIGNS:
        s, kind = s[1:].lstrip(), "number_currency"
    elif (code := _CURRENCY_CODE.match(s)) is not None:
        s, kind = s[code.end() :].lstrip(), "number_currency"
    negative_sign = s.startswith("-") and len(s) > 1 and s[1] in _CURRENCY_SIGNS
    if negative_sign:
        s = "-" + s[2:]
        kind = "number_currency"
    head = _HEAD.match(s)
    if head is None:
        raise Unreadable(f"{text[:40]!r} is not a number")
    number = head.group()
    if number.endswith(".") and len(number) > 1:  # a sentence's full stop
        number = number[:-1]
    rest = s[head.end() :].strip()
    if rest:
        kind = _read_tail(text, rest, kind)
    if "," in number:
        if not _GROUPED.fullmatch(number):
            raise Refused(
                f"{text[:40]!r} is ambiguous: the comma could separate thousands or decimals"
            )
        number = number.replace(",", "")
        if kind == "string_to_number":
            kind = "number_thousands"
    if number.count(".") > 1:
        raise Refused(f"{text[:40]!r} is ambiguous: the dots could separate thousands")
    if not _PLAIN.fullmatch(number):
        raise Unreadable(f"{text[:40]!r} is not a number")
    value: int | float
    if any(c in number for c in ".eE"):
        value = float(number)
        if integer:
            if not value.is_integer():
                raise Refused(f"{text[:40]!r} is not a whole number; reading it would lose the fraction")
            value = int(value)
    else:
        value = int(number)
    return value, kind


def _read_tail(text: str, rest: str, kind: str) -> str:
    """The repair kind for what follows the number: a currency or a unit (else refused)."""
    if rest in _CURRENCY_SIGNS or _CURRENCY_CODE.fullmatch(rest):
        return "number_currency"
    if "%" in rest:
        raise Refused(f"{text[:40]!r} is a percentage: 15% could be 15 or 0.15")
    if not _UNIT.fullmatch(rest):
        raise Unreadable(f"{text[:40]!r} is not a number")
    words = {w.casefold() for w in _WORD.findall(rest)}
    if words & _SCALE_WORDS or rest.casefold() in _SCALE_WORDS:
        raise Refused(f"{text[:40]!r} has a scale word; the number it stands for is not the one written")
    return "number_unit"


def read_bool(text: str) -> bool:
    """``true``/``yes`` -> ``True``, ``false``/``no`` -> ``False`` (any case, a final full stop
    allowed); anything else is :class:`Unreadable`."""
    word = text.strip().rstrip(".!").casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Unreadable(f"{text[:40]!r} is not a boolean")


def bool_in_text(text: str) -> bool:
    """A sentence that starts with ``Yes``/``No``/``True``/``False`` and names no other of
    those words (``"Yes, the sky is blue."``); anything else is :class:`Unreadable`, or
    :class:`Refused` when the sentence names both."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words or words[0] not in _TRUE | _FALSE:
        raise Unreadable(f"{text[:40]!r} is not a boolean")
    first = words[0] in _TRUE
    if any((w in _TRUE | _FALSE) and (w in _TRUE) != first for w in words[1:]):
        raise Refused(f"{text[:40]!r} says both yes and no")
    if any(w in _NEGATIONS and w != "no" for w in words[1:]):
        raise Refused(f"{text[:40]!r} has a negation after {words[0]!r}")
    return first


NULL_WORDS: Final = frozenset({"", "null", "none", "n/a", "na", "unknown", "not specified", "-"})
"""Strings that stand for "no value" in an optional field that cannot hold them."""


def _norm(value: str) -> str:
    return _PUNCT.sub("", value).casefold()


def match_enum(text: str, members: list[Any]) -> tuple[Any, str]:
    """The member ``text`` names and the repair kind (``enum_case`` or ``enum_in_text``).
    Raises :class:`Unreadable` when none is named, :class:`Refused` when several are."""
    key = _norm(text)
    strings = [m for m in members if isinstance(m, str)]
    same = [m for m in strings if _norm(m) == key and key]
    if len(same) == 1:
        return same[0], "enum_case"
    if len(same) > 1:
        raise Refused(f"{text[:40]!r} matches several values: {', '.join(map(repr, same))}")
    numbers = [m for m in members if isinstance(m, int | float) and not isinstance(m, bool)]
    if numbers:
        try:
            number, _ = read_number(text, integer=False)
        except (Unreadable, Refused):
            number = None
        hits = [m for m in numbers if number is not None and m == number]
        if len(hits) == 1:
            return hits[0], "enum_case"
    return _named_in_text(text, strings)


def _named_in_text(text: str, members: list[str]) -> tuple[Any, str]:
    spans: list[tuple[int, int, str]] = []
    for member in members:
        words = _WORD.findall(member.replace("_", " "))
        if not words:
            continue
        pattern = r"(?<![\w])" + r"[\s_\-]*".join(re.escape(w) for w in words) + r"(?![\w])"
        for match in re.finditer(pattern, text, re.IGNORECASE):
            spans.append((match.start(), match.end(), member))
            if len(spans) > MAX_MENTIONS:
                raise Refused("the text names the allowed values too many times to pick one")
    # a member found only inside a longer member's mention ("good" in "very good") is not named
    named: dict[str, list[tuple[int, int]]] = {}
    for start, end, member in spans:
        inside = any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
        if not inside:
            named.setdefault(member, []).append((start, end))
    if not named:
        raise Unreadable(f"{text[:60]!r} names none of the allowed values")
    if len(named) > 1:
        raise Refused(
            f"{text[:60]!r} names several allowed values ({', '.join(map(repr, named))}); "
            "answer with exactly one"
        )
    member, places = next(iter(named.items()))
    for start, _ in places:
        before = _WORD.findall(text[max(0, start - 40) : start])[-3:]
        if any(w.casefold() in _NEGATIONS for w in before):
            raise Refused(f"{text[:60]!r} names {member!r} after a negation")
    return member, "enum_in_text"
