"""The structure of JSON text outside its strings, found by one linear regex scan.

:func:`structure` yields, left to right from ``start``, each JSON string (one match, escapes
included; ``closed(match)`` says whether its closing quote arrived) and each structural character
``{ } [ ] : ,`` outside strings; everything else (numbers, literals, whitespace, prose) is
skipped. The extractor's bracket matching and depth limit and the local decode loop's JSON-path
reporting all walk text this way, so the rule for what is inside a string is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["closed", "structure"]

# a string: its characters or escapes, then the closing quote (group 1) or the end of the text
# (an unfinished string, perhaps ending in a lone backslash); the alternatives are disjoint, so
# the scan is linear
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*(?:(")|\\?\Z)|[{}\[\]:,]', re.DOTALL)


def structure(text: str, start: int = 0) -> Iterator[re.Match[str]]:
    """The strings and structural characters of ``text`` from ``start`` (module docstring)."""
    return _TOKEN.finditer(text, start)


def closed(match: re.Match[str]) -> bool:
    """Whether a string match ended with its closing quote."""
    return match.group(1) is not None
