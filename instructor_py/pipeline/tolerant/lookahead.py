"""When a quote ends a string, and the other lookahead rules of the tolerant reader.

A quote followed by ``,``, ``:``, ``}``, ``]`` or the end of the text closes the string when what
comes after fits the structure: after a comma in an object, a key and its colon; in an array, the
start of a value. Any other quote is a character of the string. The lookahead patterns are
bounded, so each quote costs constant time and reading stays linear.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CLOSING_QUOTE",
    "KEY_AHEAD_SOURCE",
    "OPENERS",
    "STRING_SPECIAL",
    "VALUE_AHEAD_SOURCE",
    "WS",
    "WS_CLASS",
    "decode_escape",
    "grouped_is_one_number",
    "quote_closes",
    "value_may_grow",
]

WS_CLASS: Final = r"[ \t\r\n\f\v\u00a0\ufeff]"
"""The whitespace the reader skips (a regex character class)."""
WS = re.compile(WS_CLASS + "*")
CLOSING_QUOTE: Final = {'"': '"', "'": "'", "`": "`", "\u201c": "\u201d", "\u2018": "\u2019"}
"""Each opening quote and the quote that closes it (typographic double and single quotes too)."""
OPENERS: Final = frozenset(CLOSING_QUOTE)
STRING_SPECIAL = {q: re.compile(rf"[{c}\\\n]") for q, c in CLOSING_QUOTE.items()}
_COMMENTS = r"""(?:[ \t\r\n]*(?://[^\n]*|#[^\n]*|/\*[^*]{0,500}\*/))*"""
# after a comma inside an object: a key and its colon, a closer, or the end
KEY_AHEAD_SOURCE: Final = (
    _COMMENTS
    + r"""(?:[ \t\r\n,]*(?:"(?:[^"\\\n]|\\.){0,400}"|'(?:[^'\\\n]|\\.){0,400}'"""
    r"""|\u201c[^\u201d\n]{0,400}\u201d|\u2018[^\u2019\n]{0,400}\u2019"""
    r"""|[A-Za-z_$][\w$\-. ]{0,100}?)\s*[:=]"""
    r"""|[ \t\r\n,]*(?:[}\]]|\Z))"""
)
_KEY_AHEAD = re.compile(KEY_AHEAD_SOURCE)
# after a comma inside an array: the start of a value, a closer, or the end
VALUE_AHEAD_SOURCE: Final = (
    _COMMENTS
    + r"""[ \t\r\n]*(?:["'`{\[\]}\-\d\u201c\u2018]|(?:true|false|null|True|False|None)\b|\Z)"""
)
_VALUE_AHEAD = re.compile(VALUE_AHEAD_SOURCE)
_ESCAPES: Final = {
    '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"
}


def decode_escape(text: str, at: int, end: int, parts: list[str]) -> tuple[int, str | None]:
    """Decode the escape at ``text[at]`` (a backslash) into ``parts``: the position after it
    and, for an escape JSON does not have (kept as written), the repair detail."""
    if at + 1 >= end:
        return at + 1, None
    ch = text[at + 1]
    if ch in _ESCAPES:
        parts.append(_ESCAPES[ch])
        return at + 2, None
    if ch == "u":
        code = text[at + 2 : at + 6]
        if len(code) == 4 and all(c in "0123456789abcdefABCDEF" for c in code):
            point = int(code, 16)
            if 0xD800 <= point < 0xDC00 and text.startswith("\\u", at + 6):
                low_text = text[at + 8 : at + 12]
                if len(low_text) == 4 and all(c in "0123456789abcdefABCDEF" for c in low_text):
                    low = int(low_text, 16)
                    if 0xDC00 <= low < 0xE000:
                        parts.append(chr(0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)))
                        return at + 12, None
            parts.append(chr(point))
            return at + 6, None
    if ch in "'`":
        parts.append(ch)
    else:
        parts.append("\\" + ch)
    return at + 2, f"kept the invalid escape \\{ch}"


def quote_closes(text: str, after: int, end: int, context: str) -> bool:
    """Whether the quote just before ``after`` ends the string (module docstring)."""
    pos = min(WS.match(text, after, end).end(), end)  # type: ignore[union-attr]
    if pos >= end or context == "top":
        return True
    ch = text[pos]
    if ch in ":}]":
        return True
    if text.startswith(("//", "/*", "```", "# "), pos):
        return True
    if context == "key":
        return ch == "="
    if ch == ",":
        ahead = _KEY_AHEAD if context == "object" else _VALUE_AHEAD
        return ahead.match(text, pos + 1, end) is not None
    if ch in OPENERS and context == "object":  # a missing comma before the next key
        return _KEY_AHEAD.match(text, pos, end) is not None
    return ch in OPENERS and context == "array"


def grouped_is_one_number(text: str, after: int, end: int) -> bool:
    """``12,111`` in an object is one number when what follows cannot start the next member."""
    pos = after
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos >= end or text[pos] in "}\r\n":
        return True
    if text[pos] == ",":
        return _KEY_AHEAD.match(text, pos + 1, end) is not None
    return False


_AFTER_SCALAR = re.compile(r"[ \t\r\n]*(?:,[ \t\r\n]*)?")


def value_may_grow(text: str, after: int, end: int, context: str) -> bool:
    """Whether the scalar ending at ``after`` could still change if the text went on (a
    streaming prefix): only blanks follow it (``12`` of ``12 kg``, ``Tru`` of ``True``), or, in
    an object, a comma and blanks (``12,`` of ``12,111``)."""
    stop = _AFTER_SCALAR.match(text, after, end).end()  # type: ignore[union-attr]
    if stop < end:
        return False
    if "," not in text[after:stop]:
        return True
    return context == "object" and after > 0 and text[after - 1].isdigit()
