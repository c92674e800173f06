"""The lexical pieces of the template language: the tokens inside a tag, string escapes, and
whether llguidance can compile a gen's regex."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["TOKEN", "regex_problem", "unquote"]

#: One token inside a tag: a quoted string, an int, an identifier, or ``= [ ] ,``.
TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<int>-?\d+)(?![\w.])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.-]*)
      | (?P<punct>[=\[\],])
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@lru_cache(maxsize=1024)
def regex_problem(pattern: str) -> str:
    """Why llguidance cannot compile ``pattern`` ("" when it can, or without llguidance: the
    remote path parses answers with Python's ``re`` and needs no llguidance)."""
    try:
        import llguidance as llg
    except ImportError:
        return ""
    problem = str(llg.LLMatcher.validate_grammar(llg.LLMatcher.grammar_from_regex(pattern)))
    if not problem:
        return ""
    lines = [ln.strip() for ln in problem.splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("error:")), lines[0])


def unquote(text: str) -> str:
    """The text of a quoted string (``\\n``, ``\\t``, ``\\r``, ``\\0``, ``\\\\`` and the quotes unescaped;
    other escapes, such as a regex's ``\\d``, stay as they are)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)
