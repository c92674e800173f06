"""Schema regexes (``pattern``, ``patternProperties``) on a linear-time engine.

Python's ``re`` backtracks: ``^(a+)+$`` against forty ``a`` and a ``!`` takes minutes, and a
schema (or a model's answer) should never be able to hang a client. Every schema regex therefore
runs on RE2 (``google-re2``), whose matching time is linear in the input. RE2 has no lookaround and
no backreferences; a pattern that needs them runs on the ``regex`` module with a time limit
instead, and a match that exceeds it raises :class:`~instructor_py.common.errors.PatternTimeoutError`.

RE2 follows ECMA-262 (the regex dialect JSON Schema specifies) more closely than ``re`` does: like
ECMA-262 without the ``u`` flag, ``\\d`` and ``\\w`` are ASCII-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2
import regex

from instructor_py.common.errors import InvalidSchemaError, PatternTimeoutError

PATTERN_TIMEOUT_S = 1.0
"""Time limit of one match for a pattern RE2 cannot run (lookaround, backreference)."""

MAX_PATTERN_LENGTH = 10_000
"""Longest ``pattern`` accepted (characters)."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr; we raise them instead


@dataclass(frozen=True, slots=True)
class SafePattern:
    """A compiled schema regex. ``engine`` is ``"re2"`` (linear time) or ``"regex"`` (backtracking,
    under :data:`PATTERN_TIMEOUT_S`)."""

    source: str
    engine: str
    _compiled: Any

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text`` (JSON Schema's semantics)."""
        if self.engine == "re2":
            return self._compiled.search(text) is not None
        try:
            return self._compiled.search(text, timeout=PATTERN_TIMEOUT_S) is not None
        except TimeoutError:
            raise PatternTimeoutError(
                f"the schema pattern {_short(self.source)} took longer than {PATTERN_TIMEOUT_S:g} s "
                f"to match a string of {len(text)} characters (it backtracks catastrophically). "
                "Rewrite it without nested quantifiers, or without lookaround and backreferences "
                "so that it runs on the linear-time engine (RE2)."
            ) from None


def compile_pattern(pattern: str) -> SafePattern:
    """Compile a schema regex, RE2 first. Raises :class:`InvalidSchemaError` for a pattern that is
    too long or that neither engine accepts."""
    if not isinstance(pattern, str):
        raise InvalidSchemaError(f"a schema pattern must be a string, got {type(pattern).__name__}.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidSchemaError(
            f"a schema pattern is {len(pattern)} characters long; the limit is "
            f"{MAX_PATTERN_LENGTH}. Use a shorter pattern or an enum."
        )
    return _compile(pattern)


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> SafePattern:
    try:
        return SafePattern(pattern, "re2", re2.compile(pattern, _RE2_OPTIONS))
    except re2.error:
        pass
    try:
        return SafePattern(pattern, "regex", regex.compile(pattern))
    except regex.error as exc:
        raise InvalidSchemaError(
            f"the schema pattern {_short(pattern)} is not a valid regular expression: {exc}."
        ) from None


def _short(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:57] + "...")


__all__ = ["MAX_PATTERN_LENGTH", "PATTERN_TIMEOUT_S", "SafePattern", "compile_pattern"]
