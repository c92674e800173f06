"""The outlines-core backend: regex, choice, and JSON schema through its regex conversion.

outlines-core builds a token-level DFA index (``Index``) over the vocabulary and walks it with a
``Guide``. It ignores JSON-schema keywords it does not implement, which would make a compiled
schema looser than the schema; so :meth:`OutlinesBackend.supports` only accepts schemas whose
keywords are all in :data:`EXACT_KEYWORDS` (others fall back to the next backend). Grammars are
not supported.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import outlines_core as oc
import outlines_core.json_schema as ocjs
from outlines_core.json_schema import build_regex_from_schema

from instructor_py.common.errors import ConstraintCompileError, ConstraintError
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher, BackendStats, StatsCounter
from instructor_py.engine.bitmask import Bitmask, allocate_bitmask, bitmask_words, check_bitmask
from instructor_py.engine.format_regex import FORMAT_REGEXES
from instructor_py.engine.tokenizer import TokenizerInfo

#: Keywords outlines-core enforces (plus pure annotations). A schema using any other keyword is
#: not compiled here, because outlines-core would silently ignore it.
EXACT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "enum",
        "const", "anyOf", "$ref", "$defs", "definitions", "minLength", "maxLength", "minItems",
        "maxItems", "format", "title", "description", "default", "examples", "$schema", "$id",
        "$comment", "deprecated", "readOnly", "writeOnly",
    }
)  # fmt: skip
#: Formats enforced exactly: outlines-core's own regexes for these are replaced by the ones in
#: :mod:`instructor_py.engine.format_regex` (see :data:`_FORMAT_FIXES`). Its ``email`` regex is
#: not used: its quoted local part puts raw ``"`` and control characters inside the JSON string
#: (invalid JSON); its ``uri`` regex uses ``\d`` (any Unicode digit).
EXACT_FORMATS = frozenset({"date-time", "date", "time", "uuid"})
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated",
     "readOnly", "writeOnly", "$defs", "definitions"}
)  # fmt: skip
# outlines-core lets these decide alone and drops their siblings: they must stand alone
_EXCLUSIVE = ("enum", "const", "anyOf", "$ref")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "prefixItems")
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")
_MAX_ROLLBACK = 1 << 20
# outlines-core's regex for a format (quotes included, as it appears in a schema's regex) ->
# the exact one
_FORMAT_FIXES = {
    str(getattr(ocjs, name)): f'"{FORMAT_REGEXES[fmt]}"'
    for fmt, name in (
        ("date", "DATE"),
        ("time", "TIME"),
        ("date-time", "DATE_TIME"),
        ("uuid", "UUID"),
    )
}

_VOCABS: OrderedDict[str, Any] = OrderedDict()
_VOCABS_LOCK = threading.Lock()


def outlines_vocabulary(info: TokenizerInfo) -> Any:
    """The ``outlines_core.Vocabulary`` for ``info`` (special tokens and EOS excluded)."""
    with _VOCABS_LOCK:
        vocab = _VOCABS.get(info.fingerprint)
        if vocab is None:
            table: dict[bytes, list[int]] = {}
            for i, tok in enumerate(info.token_bytes):
                if tok and i not in info.special_token_ids:
                    table.setdefault(tok, []).append(i)
            vocab = oc.Vocabulary(info.eos_token_ids[0], table)
            _VOCABS[info.fingerprint] = vocab
            while len(_VOCABS) > 4:
                _VOCABS.popitem(last=False)
        return vocab


def unsupported_schema_keywords(schema: Any) -> list[str]:
    """Keywords (with their JSON pointer) that outlines-core would not enforce."""
    found: list[str] = []
    for path, node in _walk(schema, "#"):
        for key, value in node.items():
            if key not in EXACT_KEYWORDS:
                found.append(f"{path}/{key}")
            elif key == "format" and value not in EXACT_FORMATS:
                found.append(f"{path}/format={value}")
        constraining = [k for k in node if k not in _ANNOTATIONS]
        if _enum_implies_type(node):
            constraining.remove("type")  # every listed value has the type: enum alone is exact
        for key in _EXCLUSIVE:
            if key in node and len(constraining) > 1:
                found.append(f"{path}/{key} with sibling keywords")
        if isinstance(node.get("type"), list) and len(constraining) > 1:
            found.append(f"{path}/type list with sibling keywords")
        if isinstance(node.get("items"), list):
            found.append(f"{path}/items as a list")
        required = node.get("required", [])
        props = node.get("properties", {})
        if isinstance(required, list) and isinstance(props, dict):
            missing = [r for r in required if r not in props]
            if missing:
                found.append(f"{path}/required names {missing[:3]} missing from properties")
    return found


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _enum_implies_type(node: dict[str, Any]) -> bool:
    """``type`` next to ``enum``/``const`` adds nothing when every listed value has that type."""
    kind = node.get("type")
    check = _TYPE_CHECKS.get(kind) if isinstance(kind, str) else None
    if check is None or ("enum" not in node and "const" not in node):
        return False
    values = list(node.get("enum", [])) if isinstance(node.get("enum"), list) else []
    if "const" in node:
        values.append(node["const"])
    return all(check(v) for v in values)


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    yield path, node
    for key in _SUBSCHEMA_MAPS:
        sub = node.get(key)
        if isinstance(sub, dict):
            for name, child in sub.items():
                yield from _walk(child, f"{path}/{key}/{name}")
    for key in _SUBSCHEMA_LISTS:
        sub = node.get(key)
        if isinstance(sub, list):
            for i, child in enumerate(sub):
                yield from _walk(child, f"{path}/{key}/{i}")
    for key in ("items", "additionalProperties"):
        yield from _walk(node.get(key), f"{path}/{key}")


def choice_regex(options: Sequence[str]) -> str:
    """A regex matching exactly one of ``options`` (Rust regex escaping)."""
    return "(" + "|".join("".join(_escape(c) for c in o) for o in options) + ")"


def _escape(c: str) -> str:
    if c in _REGEX_META:
        return "\\" + c
    if not c.isprintable() or c == " ":
        return f"\\x{{{ord(c):X}}}"
    return c


class OutlinesMatcher:
    """:class:`~instructor_py.engine.matcher.Matcher` over an ``outlines_core.Guide``."""

    def __init__(self, index: Any, info: TokenizerInfo, history: Sequence[int] = ()) -> None:
        self._index = index
        self._info = info
        self._eos = info.eos_token_ids[0]
        self._eos_set = frozenset(info.eos_token_ids)
        self._words = bitmask_words(info.vocab_size)
        self._guide = oc.Guide(index, max_rollback=_MAX_ROLLBACK)
        self._history: list[int] = []
        for t in history:
            self._advance(t)

    @property
    def tokens_accepted(self) -> int:
        return len(self._history)

    def _ended(self) -> bool:
        return bool(self._history) and self._history[-1] in self._eos_set

    def _advance(self, token_id: int) -> bool:
        if self._ended():
            return False  # nothing follows an accepted EOS
        if token_id in self._eos_set:
            # the guide does not step on EOS: it is allowed exactly in final states
            if not self._guide.is_finished():
                return False
        else:
            try:
                self._guide.advance(token_id, return_tokens=False)
            except ValueError:
                return False
        self._history.append(token_id)
        return True

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        words = self._words
        check_bitmask(bitmask, index, words)
        row = bitmask[index]
        row[:] = 0
        if self._ended():
            return
        self._guide.write_mask_into(row.ctypes.data, words, 4)
        u = row.view("uint32")
        if (int(u[self._eos >> 5]) >> (self._eos & 31)) & 1:
            for e in self._eos_set:
                u[e >> 5] |= 1 << (e & 31)

    def accept_token(self, token_id: int) -> bool:
        self._info.check_token(token_id)
        return self._advance(token_id)

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        for t in token_ids:
            self._info.check_token(t)
        return all(self._advance(t) for t in token_ids)

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        for t in token_ids:
            self._info.check_token(t)
        k = 0
        for t in token_ids:
            if not self._advance(t):
                break
            k += 1
        self.rollback(k)
        return k

    def is_accepting(self) -> bool:
        return bool(self._guide.is_finished())

    def is_terminated(self) -> bool:
        if self._ended():
            return True
        return bool(self._guide.is_finished()) and list(self._guide.get_tokens()) == [self._eos]

    def rollback(self, num_tokens: int) -> None:
        if not 0 <= num_tokens <= len(self._history):
            raise ValueError(
                f"rollback({num_tokens}): only {len(self._history)} tokens have been accepted."
            )
        if num_tokens:
            steps = num_tokens - (1 if self._ended() else 0)
            if steps:
                self._guide.rollback_state(steps)
            del self._history[-num_tokens:]

    def reset(self) -> None:
        self._guide.reset()
        self._history.clear()

    def compute_ff_tokens(self, limit: int = 64) -> list[int]:
        forced: list[int] = []
        while len(forced) < limit and not self.is_terminated():
            allowed = self._guide.get_tokens()
            if len(allowed) != 1 or allowed[0] == self._eos or not self._advance(int(allowed[0])):
                break
            forced.append(int(allowed[0]))
        self.rollback(len(forced))
        return forced

    def clone(self) -> OutlinesMatcher:
        return OutlinesMatcher(self._index, self._info, self._history)

    def get_error(self) -> str | None:
        return None


class OutlinesBackend:
    """Compiles regex, choice and (exactly supported) JSON schemas with outlines-core."""

    def __init__(self, tokenizer: TokenizerInfo, *, max_regex_chars: int = 4000) -> None:
        self._info = tokenizer
        self.max_regex_chars = max_regex_chars
        self._vocab: Any = None
        self._stats = StatsCounter(self.name)

    @property
    def name(self) -> str:
        return "outlines"

    def supports(self, spec: ConstraintSpec) -> bool:
        return self.unsupported_reason(spec) is None

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        if spec.is_composite:
            return "outlines-core does not compile composite or labeled constraints"
        if spec.kind == "grammar":
            return "outlines-core does not compile grammars"
        if spec.kind == "json_schema":
            if spec.options.whitespace == "spaced":
                return "outlines-core cannot fix the separators to ', ' and ': '"
            bad = [] if spec.options.lenient else unsupported_schema_keywords(spec.schema)
            if bad:
                return f"outlines-core would ignore {', '.join(bad[:5])}"
            if not isinstance(spec.schema, dict):
                return "outlines-core needs an object schema"
        if spec.kind != "json_schema" and len(spec.text) > self.max_regex_chars:
            return f"pattern longer than {self.max_regex_chars} characters"
        return None

    def regex_for(self, spec: ConstraintSpec) -> str:
        if spec.kind == "regex":
            return spec.text
        if spec.kind == "choice":
            return choice_regex(spec.choices)
        if spec.kind == "json_schema":
            ws = "" if spec.options.whitespace == "compact" else r"[\n\t ]*"
            try:
                regex = str(build_regex_from_schema(spec.text, ws, spec.options.max_nesting))
            except (ValueError, TypeError) as exc:
                raise ConstraintCompileError(
                    f"outlines-core: JSON schema not converted: {exc}"
                ) from exc
            for theirs, exact in _FORMAT_FIXES.items():
                regex = regex.replace(theirs, exact)
            return regex
        raise ConstraintCompileError(f"outlines-core does not compile {spec.kind} constraints")

    def compile(self, spec: ConstraintSpec) -> OutlinesMatcher:
        start = time.perf_counter()
        ok = False
        try:
            why = self.unsupported_reason(spec)
            if why is not None:
                raise ConstraintCompileError(why)
            if self._vocab is None:
                self._vocab = outlines_vocabulary(self._info)
            regex = self.regex_for(spec)
            if len(regex) > self.max_regex_chars:
                # the DFA index over the whole vocabulary grows with the regex: refuse early
                raise ConstraintCompileError(
                    f"outlines-core: the regex for {spec.describe()} has {len(regex)} characters "
                    f"(limit {self.max_regex_chars}); too large for its DFA index."
                )
            try:
                index = oc.Index(regex, self._vocab)
            except ValueError as exc:
                raise ConstraintCompileError(
                    f"outlines-core could not compile {spec.describe()}: {exc}"
                ) from exc
            ok = True
            return OutlinesMatcher(index, self._info)
        finally:
            self._stats.record(time.perf_counter() - start, ok)

    def allocate_bitmask(self, n: int) -> Bitmask:
        return allocate_bitmask(n, self._info.logits_width)

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        for matcher, index in items:
            if not isinstance(matcher, OutlinesMatcher):
                raise ConstraintError(
                    "fill_bitmask_batch: a matcher does not come from outlines-core."
                )
            matcher.fill_next_token_bitmask(bitmask, index)

    def get_stats(self) -> BackendStats:
        return self._stats.snapshot()
