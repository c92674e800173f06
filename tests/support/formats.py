"""The format oracle for the conformance tests: jsonschema's checkers plus RFC 3339 times.

jsonschema checks ``date``, ``email``, ``ipv4``, ``ipv6``, ``uuid``... itself; ``date-time`` and
``time`` need an optional dependency there, so they are checked here (RFC 3339 section 5.6).
"""

from __future__ import annotations

import datetime as dt
import re

import jsonschema

_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[zZ]|[+-](\d{2}):(\d{2}))$")


def _format_checker() -> jsonschema.FormatChecker:
    """jsonschema's checkers plus RFC 3339 ``date-time``/``time`` (no extra dependency)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("time", raises=ValueError)
    def _time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        m = _TIME.match(value)
        if m is None:
            return False
        h, mi, s = int(m[1]), int(m[2]), int(m[3])
        offset_ok = m[5] is None or (int(m[5]) <= 23 and int(m[6]) <= 59)
        return h <= 23 and mi <= 59 and s <= 60 and offset_ok

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        date, sep, time = value.partition("T") if "T" in value else value.partition("t")
        if not sep:
            return False
        dt.date.fromisoformat(date)
        return len(date) == 10 and _time(time)

    return checker


FORMAT_CHECKER = _format_checker()
