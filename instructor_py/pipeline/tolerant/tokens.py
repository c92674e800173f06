"""The token patterns of the tolerant reader (:mod:`.syntax`), and its fast path.

The general patterns read one token each. The fast path reads a whole *plain* object member
(``"name": "Ann",``, ``age: 31``, ``'tags': [``) or array item in one match: a quoted or bare key,
then a quoted string without escapes or line breaks, a JSON number or literal, a Python literal,
or the start of a nested object or array, then the comma after it. Each pattern is built from the
general rules' own pieces and matches only where those rules give the same reading (a closing
quote is accepted only where :func:`.lookahead.quote_closes` accepts it, and never before a
comment); anything else fails the match and goes the general way. So the fast path changes
the speed, never the reading.
"""

from __future__ import annotations

import re
from typing import Any, Final

from instructor_py.pipeline.tolerant.lookahead import (
    CLOSING_QUOTE,
    KEY_AHEAD_SOURCE,
    VALUE_AHEAD_SOURCE,
    WS_CLASS,
)
from instructor_py.pipeline.tolerant.loose import UNDEFINED

__all__ = [
    "BARE_VALUE",
    "FAST_ITEM",
    "FAST_MEMBER",
    "GROUPED",
    "KEY_PHRASE",
    "KEY_WORD",
    "LITERALS",
    "LOOSE_NUMBER",
    "NUMBER",
    "SIMPLE",
]

_NUMBER_SOURCE: Final = r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"
_SIMPLE_END: Final = r"(?=[ \t\r\n]*(?:[,}\]]|\Z))"
_GROUPED_SOURCE: Final = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_KEY_WORD_SOURCE: Final = r"[A-Za-z_$][\w$\-.]*"

NUMBER = re.compile(_NUMBER_SOURCE)
LOOSE_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# a JSON number or literal that a delimiter ends: the common case, read without the general path
SIMPLE = re.compile(rf"({_NUMBER_SOURCE}|true|false|null){_SIMPLE_END}")
GROUPED = re.compile(_GROUPED_SOURCE)
BARE_VALUE = re.compile(r"[^,{}\[\]\n]*")
KEY_WORD = re.compile(_KEY_WORD_SOURCE)
KEY_PHRASE = re.compile(r"[A-Za-z_$][\w$\-. ]{0,100}?(?=[ \t]*:)")
LITERALS: Final[dict[str, tuple[Any, str | None]]] = {
    "true": (True, None),
    "false": (False, None),
    "null": (None, None),
    "True": (True, "python_literal"),
    "False": (False, "python_literal"),
    "None": (None, "python_literal"),
    "undefined": (UNDEFINED, "js_literal"),
    "NaN": (UNDEFINED, "js_literal"),
    "Infinity": (UNDEFINED, "js_literal"),
    "-Infinity": (UNDEFINED, "js_literal"),
}

# -- the fast path ---------------------------------------------------------------------------

_WS: Final = WS_CLASS + "*"
_OPENER_CLASS: Final = "[" + "".join(CLOSING_QUOTE) + "]"
# where quote_closes() says a string ends, without its comment cases (those go the general way):
# the end, ':', '}' or ']', a comma before what may follow it, or (objects) the next quoted key.
# In objects a comma and a plain key come first: a narrower case of KEY_AHEAD, quicker to match.
_PLAIN_KEY_AHEAD: Final = (
    r"""[ \t\r\n]*(?:[A-Za-z_$][\w$\-.]{0,100}|"[^"\\\n]{0,400}"|'[^'\\\n]{0,400}')[ \t]*:"""
)
_CLOSES_IN_OBJECT: Final = (
    rf"(?={_WS}(?:,{_PLAIN_KEY_AHEAD}|\Z|[:}}\]]|,(?:{KEY_AHEAD_SOURCE})"
    rf"|(?={_OPENER_CLASS})(?:{KEY_AHEAD_SOURCE})))"
)
_CLOSES_IN_ARRAY: Final = rf"(?={_WS}(?:\Z|[:}}\]]|,(?:{VALUE_AHEAD_SOURCE})|{_OPENER_CLASS}))"
# a Python literal read as a bare token: only blanks between it and what ends the token
_BARE_END: Final = r"(?=[ \t]*(?:[,{}\[\]\n]|\Z))"


def _value(closes: str, grouped_check: bool) -> str:
    """A plain value (groups: number, JSON literal, "string", 'string', Python literal), then
    the comma after it (a group) and the blanks after that, or the start of a nested container
    (a group)."""
    not_grouped = r"(?!-?\d{1,3},\d{3})" if grouped_check else ""
    return (
        rf"(?:(?:{not_grouped}({_NUMBER_SOURCE}){_SIMPLE_END}"
        rf"|(true|false|null){_SIMPLE_END}"
        rf"|\"([^\"\\\n]*)\"{closes}"
        rf"|'([^'\\\n]*)'{closes}"
        rf"|(True|False|None){_BARE_END})"
        rf"(?:{_WS}(,)[ \t\r\n]*)?"
        rf"|(?=([{{\[])))"
    )


FAST_MEMBER = re.compile(
    rf"{_WS}(?:\"([^\"\\\n]*)\"{_WS}|'([^'\\\n]*)'{_WS}|({_KEY_WORD_SOURCE})[ \t]*):{_WS}"
    + _value(_CLOSES_IN_OBJECT, grouped_check=True)
)
"""An object member: groups 1-3 the key ("double", 'single', bare), 4-8 the value (number,
JSON literal, "double", 'single', Python literal), 9 the comma after it, 10 a nested ``{``/``[``.
"""
FAST_ITEM = re.compile(_WS + _value(_CLOSES_IN_ARRAY, grouped_check=False))
"""An array item: groups 1-5 the value as in :data:`FAST_MEMBER`, 6 the comma, 7 a nested
``{``/``[``."""
