"""Finding the answer in the text: every candidate value, fitted to the schema, the best one
chosen (or the answer refused when two differ equally well).

Candidates, left to right: the whole text (``direct``); the body of each fenced code block
(``fenced``, an unclosed last fence runs to the end); every ``{``/``[`` value embedded in prose
(``embedded``, the scan resumes after each value read, so the text is read about once); and, when
none of them fits and the schema allows a scalar, the whole text as one string (``text``: an
enum named in a sentence, ``12 kg``). The fit that needed the fewest repairs wins; fits tied with
different values are ambiguous.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from instructor_py.pipeline.extraction import strip_reasoning
from instructor_py.pipeline.tolerant.coerce import Ambiguity, Coercer, Miss, plain
from instructor_py.pipeline.tolerant.prefix import PrefixCoercer, mark_open, without_open
from instructor_py.pipeline.tolerant.records import ParseFailure, ParseResult, Repair
from instructor_py.pipeline.tolerant.schema import SchemaView
from instructor_py.pipeline.tolerant.structure import structure_answer
from instructor_py.pipeline.tolerant.syntax import Bare, Reader, TooDeep

__all__ = ["find_candidates", "parse_partial", "parse_tolerant"]

MAX_FENCES: Final = 64
MAX_CANDIDATES: Final = 256
_FENCE_OPEN = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?")
_VALUE_START = re.compile(r"[{\[]")
def _object_without_conflicts(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique, or repeated with the same value; a key given two
    different values has two readings (``ValueError``: the tolerant reader then refuses it)."""
    out = dict(pairs)
    if len(out) != len(pairs) and any(not _same_json(out[k], v) for k, v in pairs):
        raise ValueError("a key appears twice with different values")
    return out


_JSON = json.JSONDecoder(  # raw control characters in strings, as today
    strict=False, object_pairs_hook=_object_without_conflicts
)
_PARTIAL_ONLY: Final = frozenset({"truncated_close", "truncated_string"})


@dataclass(frozen=True, slots=True)
class _Candidate:
    source: str
    start: int
    value: Any
    repairs: tuple[Repair, ...]
    problem: str | None  # why this candidate cannot be the answer (still tells the schema errors)
    open_string: bool
    end: int = -1  # set on a strict JSON candidate: it is read again when it needs coercion
    open_value: bool = False  # it ends in a value more text could change (a streaming prefix)


def _read(text: str, start: int, end: int, source: str, whole: bool) -> _Candidate | None:
    reader = Reader(text, start, end)
    try:
        value = reader.read()
    except TooDeep:
        return None
    if whole:
        reader.skip()
        if not reader.at_end():
            return None
    return _from_reader(reader, source, start, value)


def _from_reader(reader: Reader, source: str, start: int, value: Any) -> _Candidate:
    """The candidate ``reader`` read (``value``, from ``start``), with what the reading did."""
    return _Candidate(
        source,
        start,
        value,
        tuple(reader.repairs),
        reader.broken,
        reader.open_string,
        open_value=reader.open_value,
    )


def _bounds(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _direct(text: str) -> _Candidate | None:
    start, end = _bounds(text, 0, len(text))
    if start >= end:
        return None
    if text[start] in _JSON_STARTS:  # strict JSON: read exactly as json.loads reads it
        strict = _strict_at(text, start, end, "direct", whole=True)
        if strict is not None:
            return strict
    return _read(text, start, end, "direct", whole=True)


_JSON_STARTS: Final = frozenset('{["-0123456789tfn')


MAX_STRICT_TRIES: Final = 16
"""Embedded starts first tried as strict JSON (each failed try costs up to the text's length)."""


def _strict_at(text: str, start: int, end: int, source: str, whole: bool) -> _Candidate | None:
    """Strict JSON at ``start`` (ending by ``end``; with ``whole``, only whitespace after it),
    read exactly as ``json`` reads it."""
    try:
        value, stop = _JSON.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    if stop > end or (whole and text[stop:end].strip()):
        return None
    return _Candidate(source, start, value, (), None, False, stop)


def _fence_follows(text: str, pos: int) -> bool:
    rest = text[pos : pos + 64].lstrip()
    return not rest or rest.startswith("```") or not text[pos:].strip()


def _fences(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each fenced block's body; an unclosed last fence runs to the end."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for _ in range(MAX_FENCES):
        opener = _FENCE_OPEN.search(text, pos)
        if opener is None:
            break
        close = text.find("```", opener.end())
        end = len(text) if close < 0 else close
        spans.append((opener.end(), end))
        if close < 0:
            break
        pos = close + 3
    return spans


def find_candidates(text: str) -> list[_Candidate]:
    """Every candidate value in ``text`` (module docstring), in order of preference."""
    direct = _direct(text)
    if direct is not None:  # the whole text is one value: anything else is inside it
        return [direct]
    out: list[_Candidate] = []
    covered: dict[int, int] = {}  # start -> where its reading stopped
    for body_start, body_end in _fences(text):
        start, end = _bounds(text, body_start, body_end)
        if start < end and start not in covered:
            found = _strict_at(text, start, len(text), "fenced", whole=False)
            if found is not None and not _fence_follows(text, found.end):
                found = None  # (strict JSON may hold ``` inside a string: its end is the fence's)
            found = found or _read(text, start, end, "fenced", whole=True)
            if found is not None:
                out.append(found)
                covered[start] = max(end, found.end)
    pos = tries = 0
    while len(out) < MAX_CANDIDATES:
        match = _VALUE_START.search(text, pos)
        if match is None:
            break
        start = match.start()
        if start in covered:
            pos = max(covered[start], start + 1)
            continue
        fence = text.find("```", start)
        end = len(text) if fence < 0 else fence
        tries += 1
        strict = _strict_at(text, start, end, "embedded", whole=False) if tries <= MAX_STRICT_TRIES else None
        if strict is not None:
            out.append(strict)
            pos = strict.end
            continue
        reader = Reader(text, start, end)
        try:
            value = reader.read()
        except TooDeep:
            break  # deeper than any answer may be: the rest of the text is not read again
        out.append(_from_reader(reader, "embedded", start, value))
        pos = max(reader.pos, start + 1)
    return out


def _fit(
    view: SchemaView, schema: Any, candidate: _Candidate, budget: int, partial: bool
) -> tuple[Any, tuple[Repair, ...]]:
    loose = candidate.value
    if partial:  # the value at the end of a prefix is not coerced before it is complete
        coercer: Coercer = PrefixCoercer(view, budget)
        if candidate.open_value or not isinstance(loose, dict | list):
            loose = mark_open(loose)
    else:
        coercer = Coercer(view, budget)
    if candidate.source == "text":
        coercer.wrap_scalars = False
    value = coercer.run(loose, schema)
    if partial:
        value = without_open(value)
    repairs = candidate.repairs + tuple(coercer.repairs)
    if partial:
        repairs = tuple(r for r in repairs if r.kind not in _PARTIAL_ONLY)
    return value, repairs


def _parse(text: str, schema: Mapping[str, Any] | bool, partial: bool) -> ParseResult | ParseFailure:
    text = strip_reasoning(text)
    root = schema if isinstance(schema, Mapping) else {}
    view = SchemaView(root)
    budget = 64 * (len(text) + 64)
    candidates = find_candidates(text)
    fits: list[tuple[int, int, Any, tuple[Repair, ...], str]] = []
    first_failure: ParseFailure | None = None
    ambiguity: Ambiguity | None = None
    for order, found in enumerate(candidates):
        candidate = found
        if found.end >= 0:  # strict JSON: taken as json read it when it fits without coercion
            exact = _fit_exactly(view, schema, found, budget, partial)
            if exact is not _NO_FIT:
                fits.append((0, order, exact, (), found.source))
                continue
            # it needs coercion: read again, keeping numbers as written
            candidate = _read(text, found.start, found.end, found.source, whole=True) or found
        if candidate.problem is not None or (candidate.open_string and not partial):
            reason = candidate.problem or "the answer ends inside a string"
            first_failure = first_failure or _failure("unreadable", "$", reason, candidate)
            continue
        try:
            value, repairs = _fit(view, schema, candidate, budget, partial)
        except Ambiguity as exc:
            ambiguity = ambiguity or exc
            continue
        except Miss as exc:
            first_failure = first_failure or _failure("mismatch", exc.path, exc.reason, candidate)
            continue
        except RecursionError:
            continue
        fits.append((len(repairs), order, value, repairs, candidate.source))
    if fits and not partial and candidates[-1].open_string and _ends_text(text, candidates[-1]):
        return ParseFailure(
            "unreadable",
            "$",
            "the answer ends inside an unfinished value (cut off?); the value before it may not "
            "be the whole answer",
            *_best_effort(candidates),
        )
    if ambiguity is not None:
        return ParseFailure(
            "ambiguous", ambiguity.path, ambiguity.reason, *_best_effort(candidates)
        )
    if not fits and view.scalar_possible(root):
        stripped = text.strip()
        if stripped:
            raw = _Candidate("text", 0, Bare(stripped), (), None, False)
            try:
                value, repairs = _fit(view, schema, raw, budget, partial)
            except Ambiguity as exc:
                return ParseFailure("ambiguous", exc.path, exc.reason, *_best_effort(candidates))
            except Miss:
                pass
            else:
                kind = structure_answer(text, candidates) if value == stripped else None
                if kind is not None:  # a JSON structure is the answer, not text
                    why = f" ({first_failure.message})" if first_failure is not None else ""
                    return ParseFailure(
                        "mismatch",
                        first_failure.path if first_failure is not None else "$",
                        f"the answer is a JSON {kind} that does not fit the schema{why}; it is "
                        "not read as text: answer with a value of the type the schema asks for",
                        *_best_effort(candidates),
                    )
                note = Repair("$", "text_as_value", "read the whole answer as the value")
                return ParseResult(value, (note, *repairs), "text")
    if not fits:
        if first_failure is not None:
            return first_failure
        return ParseFailure("unreadable", "$", "no JSON value was found in the answer")
    fits.sort(key=lambda f: (f[0], f[1]))
    best = fits[0]
    for other in fits[1:]:
        if other[0] > best[0]:
            break
        if not _same_json(other[2], best[2]):
            return ParseFailure(
                "ambiguous",
                "$",
                "the answer holds several different values that fit the schema equally well; "
                "answer with exactly one",
                *_best_effort(candidates),
            )
    return ParseResult(best[2], best[3], best[4])


def _fit_exactly(
    view: SchemaView, schema: Any, candidate: _Candidate, budget: int, partial: bool
) -> Any:
    """The candidate's value when it fits the schema with no coercion, else ``_NO_FIT``."""
    try:
        value, repairs = _fit(view, schema, candidate, budget, partial)
    except (Miss, Ambiguity, RecursionError):
        return _NO_FIT
    return _NO_FIT if repairs else value


_NO_FIT: Final = object()


def _ends_text(text: str, candidate: _Candidate) -> bool:
    """Whether an unfinished candidate ran to the end of the answer (not just of a fence)."""
    return "```" not in text[candidate.start :]


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _failure(kind: Any, path: str, reason: str, candidate: _Candidate) -> ParseFailure:
    return ParseFailure(kind, path, reason, plain(candidate.value), True)


def _best_effort(candidates: list[_Candidate]) -> tuple[Any, bool]:
    for candidate in candidates:
        return plain(candidate.value), True
    return None, False


def _escaped_json(text: str, schema: Any, partial: bool, failed: ParseFailure) -> ParseResult | ParseFailure:
    """An answer written as escaped JSON (``{\\"a\\": 1}``, every quote escaped): read unescaped."""
    if '\\"' not in text or failed.kind == "ambiguous":
        return failed
    if text.replace('\\"', "").count('"'):  # some quotes are not escaped: not this case
        return failed
    again = _parse(text.replace('\\"', '"'), schema, partial)
    if not isinstance(again, ParseResult):
        return failed
    note = Repair("$", "unescaped_json", "read JSON whose quotes were all escaped")
    return ParseResult(again.value, (note, *again.repairs), again.source)


def parse_tolerant(text: str, schema: Mapping[str, Any] | bool) -> ParseResult | ParseFailure:
    """Read the value ``text`` holds for ``schema`` (a JSON schema dict), repairing syntax and
    coercing to the schema where only one reading is possible (see the package docstring).
    Returns a :class:`ParseResult`, or a :class:`ParseFailure` saying what was ambiguous or
    unreadable. Strict JSON that fits the schema is returned exactly as ``json.loads`` reads
    it, with no repairs."""
    result = _parse(text, schema, partial=False)
    if isinstance(result, ParseFailure):
        return _escaped_json(text, schema, False, result)
    return result


def parse_partial(text: str, schema: Mapping[str, Any] | bool) -> ParseResult | ParseFailure:
    """The same rules on a prefix of an answer (streaming): an unfinished string, object or
    array is closed and missing required fields are allowed; the ``truncated_*`` repairs are
    not reported."""
    return _parse(text, schema, partial=True)

