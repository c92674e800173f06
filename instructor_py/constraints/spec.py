"""`ConstraintSpec`: what a generation must match.

Simple kinds: a JSON schema, a regex, a grammar or a choice. Composite kinds (compiled by the
llguidance backend into its Lark dialect, see :mod:`instructor_py.engine.composite`): a
``literal``, free ``text`` (ended by a stop string, a regex or a token budget), a ``sequence`` of
specs, ``any_of`` several specs, and a Guidance-style ``template``. Any spec can be
:meth:`~ConstraintSpec.labeled`: after generation the matcher's ``segments()`` say which label
produced which text (llguidance's named captures).

A spec is a frozen, hashable value: the schema is stored as canonical JSON text, so two equal
schemas give equal specs and the same :meth:`ConstraintSpec.to_cache_key`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import Any, Literal, Protocol, overload

from instructor_py.common.errors import ConstraintCompileError
from instructor_py.constraints.kinds import COMPOSITE_TYPES, ConstraintType
from instructor_py.schema.text import canonical_schema_text

#: The kind names (the values of :class:`ConstraintType`).
ConstraintKind = ConstraintType
GrammarSyntax = Literal["lark", "gbnf"]
Whitespace = Literal["compact", "spaced", "flexible"]

GRAMMAR_SYNTAXES: tuple[str, ...] = ("lark", "gbnf")


@dataclass(frozen=True)
class ConstraintOptions:
    """Options shared by every constraint kind.

    - ``whitespace``: ``"compact"`` (JSON without insignificant whitespace, the default: fewer
      tokens, no whitespace loops), ``"spaced"`` (exactly one space after ``,`` and ``:``, as
      Python's ``json.dumps`` writes it: the JSON most text a model learned from looks like) or
      ``"flexible"`` (any JSON whitespace between tokens).
    - ``max_nesting``: how deep outlines-core unrolls recursive schemas (llguidance handles
      recursion natively and ignores it).
    - ``allow_relaxed``: when no backend compiles a JSON schema exactly, the orchestrator may fall
      back to a relaxed constraint (handle marked ``exact=False``); set False to get an error.
    - ``lenient``: backends may ignore JSON-schema keywords they do not implement (the result is
      then not exact). Set by the orchestrator for its first relaxed tier; rarely set by hand.
    """

    whitespace: Whitespace = "compact"
    max_nesting: int = 8
    allow_relaxed: bool = True
    lenient: bool = False

    def __post_init__(self) -> None:
        if self.whitespace not in ("compact", "spaced", "flexible"):
            raise ConstraintCompileError(
                f"whitespace must be 'compact', 'spaced' or 'flexible', got {self.whitespace!r}."
            )
        if self.max_nesting < 1:
            raise ConstraintCompileError(f"max_nesting must be >= 1, got {self.max_nesting}.")


def _free_text(
    cls: type[ConstraintSpec],
    stop: str | None = None,
    regex: str | None = None,
    max_tokens: int | None = None,
) -> ConstraintSpec:
    """``ConstraintSpec.text(stop=None, regex=None, max_tokens=None)``: free text.

    ``stop``: the text ends at this string (generated and kept in the output, left out of the
    label's segment); ``regex``: the text must match it (Rust ``regex`` syntax; default any
    text); ``max_tokens``: at most this many tokens. Free text with neither a stop string nor a
    token budget only ends with the output (or where the regex cannot go on)."""
    if stop is not None and (not isinstance(stop, str) or stop == ""):
        raise ConstraintCompileError("text: stop must be a non-empty string or None.")
    if regex is not None and not isinstance(regex, str):
        raise ConstraintCompileError(
            f"text: regex must be a string or None, got {type(regex).__name__}."
        )
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise ConstraintCompileError(f"text: max_tokens must be an int >= 1, got {max_tokens!r}.")
    data = json.dumps({"stop": stop, "regex": regex, "max_tokens": max_tokens}, ensure_ascii=False)
    return cls(ConstraintType.TEXT, "", data=data)


class _TextConstructor(Protocol):
    def __call__(
        self, stop: str | None = None, regex: str | None = None, max_tokens: int | None = None
    ) -> ConstraintSpec: ...


class _SourceText:
    """``spec.text`` is the spec's source text (a str); ``ConstraintSpec.text(...)``, on the
    class, builds a free-text spec (see :func:`_free_text`)."""

    @overload
    def __get__(self, obj: None, owner: type[ConstraintSpec]) -> _TextConstructor: ...

    @overload
    def __get__(self, obj: ConstraintSpec, owner: type[ConstraintSpec]) -> str: ...

    def __get__(
        self, obj: ConstraintSpec | None, owner: type[ConstraintSpec]
    ) -> str | _TextConstructor:
        if obj is None:
            return partial(_free_text, owner)
        value: str = obj.__dict__["text"]
        return value

    def __set__(self, obj: ConstraintSpec, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"ConstraintSpec.text must be a str, got {type(value).__name__}")
        obj.__dict__["text"] = value


_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ConstraintSpec:
    """One constraint. Build it with :meth:`json_schema`, :meth:`regex`, :meth:`grammar`,
    :meth:`choice`, :meth:`literal`, :meth:`text`, :meth:`sequence` or :meth:`any_of` (a
    template: :func:`instructor_py.guidance.template_constraint`); ``text`` holds the canonical source (schema JSON, regex, grammar text, a
    JSON list of the choices, the literal, the template), ``parts`` the nested specs of a
    composite, ``label`` the capture name set by :meth:`labeled`, ``data`` canonical JSON of a
    kind's parameters (``text``: stop/regex/max_tokens; ``template``: its variables)."""

    kind: ConstraintType
    text: _SourceText = _SourceText()
    syntax: GrammarSyntax | None = None
    options: ConstraintOptions = field(default_factory=ConstraintOptions)
    parts: tuple[ConstraintSpec, ...] = ()
    label: str | None = None
    data: str = ""

    # --- constructors -----------------------------------------------------------------------

    @classmethod
    def json_schema(
        cls,
        schema: Mapping[str, Any] | str | bool,
        *,
        whitespace: Whitespace = "compact",
        max_nesting: int = 8,
        allow_relaxed: bool = True,
    ) -> ConstraintSpec:
        """A JSON schema (dict or JSON text). Raises :class:`InvalidSchemaError` if it is not one."""
        text = canonical_schema_text(schema)
        opts = ConstraintOptions(whitespace, max_nesting, allow_relaxed)
        return cls(ConstraintType.JSON_SCHEMA, text, None, opts)

    @classmethod
    def regex(cls, pattern: str) -> ConstraintSpec:
        """A regular expression the whole output must match (Rust ``regex`` syntax)."""
        if not isinstance(pattern, str):
            raise ConstraintCompileError(
                f"regex: expected a string pattern, got {type(pattern).__name__}."
            )
        return cls(ConstraintType.REGEX, pattern)

    @classmethod
    def grammar(cls, text: str, syntax: str = "lark") -> ConstraintSpec:
        """A context-free grammar in Lark (llguidance dialect) or GBNF (llama.cpp) syntax."""
        if syntax not in GRAMMAR_SYNTAXES:
            raise ConstraintCompileError(
                f"grammar: unsupported syntax {syntax!r}; use one of {', '.join(GRAMMAR_SYNTAXES)}."
            )
        if not isinstance(text, str) or not text.strip():
            raise ConstraintCompileError("grammar: the grammar text is empty.")
        return cls(ConstraintType.GRAMMAR, text, syntax)  # type: ignore[arg-type]

    @classmethod
    def choice(cls, options: Iterable[str]) -> ConstraintSpec:
        """Exactly one of the given strings."""
        items = list(options)
        if not items:
            raise ConstraintCompileError("choice: the list of options is empty.")
        bad = [i for i, o in enumerate(items) if not isinstance(o, str) or o == ""]
        if bad:
            raise ConstraintCompileError(
                f"choice: option(s) at index {bad[:5]} are not non-empty strings."
            )
        return cls(
            ConstraintType.CHOICE, json.dumps(list(dict.fromkeys(items)), ensure_ascii=False)
        )

    @classmethod
    def literal(cls, text: str) -> ConstraintSpec:
        """Exactly ``text`` (forced: the decode loop fast-forwards it without sampling)."""
        if not isinstance(text, str) or text == "":
            raise ConstraintCompileError("literal: expected a non-empty string.")
        return cls(ConstraintType.LITERAL, text)

    @classmethod
    def sequence(cls, *parts: ConstraintSpec | str) -> ConstraintSpec:
        """The parts one after the other (a ``str`` part is a :meth:`literal`)."""
        specs = _specs("sequence", parts)
        return cls(ConstraintType.SEQUENCE, "", parts=specs)

    @classmethod
    def any_of(cls, *specs: ConstraintSpec | str) -> ConstraintSpec:
        """Any one of the specs (a ``str`` is a :meth:`literal`)."""
        return cls(ConstraintType.ANY_OF, "", parts=_specs("any_of", specs))

    def labeled(self, name: str) -> ConstraintSpec:
        """This spec with a label: the text it produces is reported by ``segments()``."""
        if not isinstance(name, str) or not _LABEL.fullmatch(name):
            raise ConstraintCompileError(
                f"labeled: a label is a name like 'answer' (letters, digits, _ . -), got {name!r}."
            )
        return replace(self, label=name)

    @property
    def is_composite(self) -> bool:
        """True for the kinds (and labels) that compile only through llguidance's Lark."""
        return self.kind in COMPOSITE_TYPES or self.label is not None

    # --- accessors --------------------------------------------------------------------------

    @property
    def schema(self) -> Any:
        """The JSON schema (kind ``json_schema`` only)."""
        if self.kind != ConstraintType.JSON_SCHEMA:
            raise AttributeError(f"a {self.kind} constraint has no schema")
        return json.loads(self.text)

    @property
    def choices(self) -> list[str]:
        """The options (kind ``choice`` only)."""
        if self.kind != ConstraintType.CHOICE:
            raise AttributeError(f"a {self.kind} constraint has no choices")
        result: list[str] = json.loads(self.text)
        return result

    def with_options(self, **changes: Any) -> ConstraintSpec:
        """A copy with some options changed (e.g. ``whitespace="flexible"``)."""
        return replace(self, options=replace(self.options, **changes))

    def to_cache_key(self) -> str:
        """A stable key: equal specs (same kind, text, syntax, options) give equal keys."""
        return self._cache_key

    @cached_property
    def _cache_key(self) -> str:
        o = self.options
        parts = ",".join(p.to_cache_key() for p in self.parts)
        raw = (
            f"{self.kind.value}\0{self.syntax}\0{o.whitespace}\0{o.max_nesting}\0"
            f"{o.allow_relaxed}\0{o.lenient}\0{self.label}\0{self.data}\0{parts}\0{self.text}"
        )
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """A short human description for error messages (never the full text)."""
        label = f" labeled {self.label!r}" if self.label else ""
        if self.parts and self.kind != ConstraintType.TEMPLATE:
            return f"{self.kind.value} of {len(self.parts)} parts{label}"
        source = self.text or self.data
        head = source if len(source) <= 60 else source[:57] + "..."
        extra = f" ({self.syntax})" if self.syntax else ""
        return f"{self.kind.value}{extra} {head!r}{label}"


def _specs(what: str, items: tuple[ConstraintSpec | str, ...]) -> tuple[ConstraintSpec, ...]:
    if not items:
        raise ConstraintCompileError(f"{what}: give at least one spec.")
    out: list[ConstraintSpec] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(ConstraintSpec.literal(item))
        elif isinstance(item, ConstraintSpec):
            out.append(item)
        else:
            raise ConstraintCompileError(
                f"{what}: part {i} is a {type(item).__name__}, not a ConstraintSpec or a str."
            )
    return tuple(out)
