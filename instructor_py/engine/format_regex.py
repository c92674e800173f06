"""Exact regular expressions for the JSON-schema string formats the backends get wrong.

A handle is ``exact`` only if no output it accepts fails the schema. The backends' built-in
format regexes do not all meet that bar (checked against ``jsonschema``'s format checker and
RFC 3339, see ``docs/conformance.md``):

- llguidance's ``date`` and ``date-time`` accept February 29 in every year;
- outlines-core's ``date`` uses ``\\d`` (any Unicode digit) and allows day 31 in every month; its
  ``time`` and ``date-time`` make the UTC offset optional (RFC 3339 requires it); its ``uuid`` is
  lowercase-only (``jsonschema`` accepts both cases).

The expressions here use ASCII digits only and follow RFC 3339 section 5.6 together with
Python's ``datetime.date`` (which ``jsonschema``'s ``date`` checker calls): years 0001-9999, the
month's own day count, February 29 in leap years only (divisible by 4, centuries only when
divisible by 400), hours 00-23, minutes 00-59, seconds 00-60 (leap second), any number of
fractional digits, and a required offset ``Z``/``z`` or ``+hh:mm``/``-hh:mm``. They have no
anchors; :func:`replace_formats` anchors them where a schema needs a ``pattern``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DATE", "DATE_TIME", "FORMAT_REGEXES", "TIME", "UUID", "replace_formats"]

_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # 0001-9999
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
#: RFC 3339 ``full-date`` as Python's ``date.fromisoformat`` reads it (no year 0000).
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
#: RFC 3339 ``full-time``: the offset is required.
TIME = (
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
#: RFC 3339 ``date-time``.
DATE_TIME = rf"{DATE}[Tt]{TIME}"
#: The canonical 8-4-4-4-12 hexadecimal form, either case (what ``jsonschema`` accepts there).
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

FORMAT_REGEXES: Mapping[str, str] = {
    "date": DATE,
    "time": TIME,
    "date-time": DATE_TIME,
    "uuid": UUID,
}

# keywords whose values are data, not subschemas: never rewritten
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})
# keywords whose values map names to subschemas
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def replace_formats(schema: Any, formats: Mapping[str, str]) -> Any:
    """A copy of ``schema`` where each ``"format": f`` with ``f`` in ``formats`` becomes the
    anchored ``pattern`` ``formats[f]`` (``schema`` itself when nothing changes).

    A ``format`` and a ``pattern`` both assert only on strings, so the result accepts exactly the
    instances whose strings match the regexes. A schema that already has a ``pattern`` keeps it and
    gets the format's as an ``allOf`` member. Every subschema is visited, including those under
    unknown keywords (a ``$ref`` may point there); values of data keywords (``enum``, ``const``,
    ``default``, ``examples``) are left alone.
    """
    return _replace(schema, formats)


def _replace(node: Any, formats: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        new_items = [_replace(v, formats) for v in node]
        changed = any(a is not b for a, b in zip(new_items, node, strict=True))
        return new_items if changed else node
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    changed = False
    for key, value in node.items():
        if key in _DATA_KEYWORDS:
            new = value
        elif key in _NAME_MAPS and isinstance(value, Mapping):
            subs = {name: _replace(sub, formats) for name, sub in value.items()}
            new = subs if any(subs[n] is not value[n] for n in subs) else value
        else:
            new = _replace(value, formats)
        changed = changed or new is not value
        out[key] = new
    fmt = out.get("format")
    if isinstance(fmt, str) and fmt in formats:
        pattern = f"^{formats[fmt]}$"
        del out["format"]
        if "pattern" in out:
            out["allOf"] = [*out.get("allOf", []), {"pattern": pattern}]
        else:
            out["pattern"] = pattern
        changed = True
    return out if changed else node
