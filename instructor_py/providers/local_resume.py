"""Keeping the valid part of an answer that fell into a loop, and resuming from it.

A small model decoding greedily falls into loops: a free string repeats a sentence, a list repeats
its items (:mod:`~instructor_py.runtime.repetition` stops the decode within a few repeats). The
text before the loop is usually right, and a retry from scratch pays for the whole answer again
and, greedy or not, often loops at the same place. So the local provider resumes instead, once
per attempt: the answer is cut after the loop's first unit and closed where it stands (a string
gets its closing quote, a list its closing bracket after its last whole item), and the decode
continues from there under the same grammar (``DecodeOptions.prefix``); the model then writes the
rest of the answer. When no such cut exists (the loop is in a key, a number, or before a list's
first item ends) or the grammar refuses the cut (a ``minLength`` or ``minItems`` not yet met),
the looped attempt ends as before and the retry takes it.

Only answers that are not streamed are resumed: a stream has already shown the looped text.
"""

from __future__ import annotations

from dataclasses import dataclass

from instructor_py.runtime.repetition import Repetition

__all__ = ["ResumePoint", "resume_point"]

#: Shortest valid part worth keeping (shorter: a retry costs about the same).
_MIN_KEEP = 8


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where to resume a looped answer: ``text`` (the valid part, closed) and ``kept`` (how many
    characters of the looped answer it keeps)."""

    text: str
    kept: int


def resume_point(text: str, loop: Repetition) -> ResumePoint | None:
    """The valid part of ``text`` (a JSON answer cut short by ``loop``) to resume from, or None."""
    cut = min(len(text), loop.start + len(loop.unit))
    state = _scan(text[:cut])
    if state is None:
        return None
    if state.in_string and not state.in_key:
        body = (text[: cut - 1] if state.escaped else text[:cut]).rstrip(" ")
        return ResumePoint(body + '"', len(body)) if len(body) >= _MIN_KEEP else None
    if state.array_comma is not None:
        keep = state.array_comma
        return ResumePoint(text[:keep] + "]", keep) if keep >= _MIN_KEEP else None
    return None


@dataclass(slots=True)
class _State:
    in_string: bool = False
    in_key: bool = False
    escaped: bool = False
    #: position of the last comma between items of the innermost open list (the list's last
    #: whole item ends there), None when that list has no such comma yet
    array_comma: int | None = None


def _scan(text: str) -> _State | None:
    """The JSON state at the end of ``text``: inside a string (a key or a value), and the last
    item boundary of the innermost open list. None when ``text`` is not a JSON prefix."""
    stack: list[str] = []
    commas: list[int | None] = []  # per open container: its last item boundary (lists only)
    expect_key: list[bool] = []  # per open container: an object waiting for a key
    state = _State()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if state.in_string:
            if state.escaped:
                state.escaped = False
            elif c == "\\":
                state.escaped = True
            elif c == '"':
                state.in_string = False
                state.in_key = False
        elif c == '"':
            state.in_string = True
            state.in_key = bool(stack) and stack[-1] == "{" and expect_key[-1]
        elif c in "{[":
            stack.append(c)
            commas.append(None)
            expect_key.append(c == "{")
        elif c in "}]":
            if not stack or (c == "}") != (stack[-1] == "{"):
                return None
            stack.pop()
            commas.pop()
            expect_key.pop()
        elif c == ",":
            if not stack:
                return None
            if stack[-1] == "[":
                commas[-1] = i
            else:
                expect_key[-1] = True
        elif c == ":":
            if not stack or stack[-1] != "{":
                return None
            expect_key[-1] = False
        i += 1
    if not stack:
        return None
    state.array_comma = commas[-1] if stack[-1] == "[" else None
    return state
