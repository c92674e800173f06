"""`ConstraintSpec`: what a generation must match (JSON schema, regex, grammar or choice).

A spec is a frozen, hashable value: the schema is stored as canonical JSON text, so two equal
schemas give equal specs and the same :meth:`ConstraintSpec.to_cache_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Literal

from instructor_py.errors import ConstraintCompileError, InvalidSchemaError

ConstraintKind = Literal["json_schema", "regex", "grammar", "choice"]
GrammarSyntax = Literal["lark", "gbnf"]
Whitespace = Literal["compact", "flexible"]

GRAMMAR_SYNTAXES: tuple[str, ...] = ("lark", "gbnf")


@dataclass(frozen=True)
class ConstraintOptions:
    """Options shared by every constraint kind.

    - ``whitespace``: ``"compact"`` (JSON without insignificant whitespace, the default: fewer
      tokens, no whitespace loops) or ``"flexible"`` (any JSON whitespace between tokens).
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
        if self.whitespace not in ("compact", "flexible"):
            raise ConstraintCompileError(
                f"whitespace must be 'compact' or 'flexible', got {self.whitespace!r}."
            )
        if self.max_nesting < 1:
            raise ConstraintCompileError(f"max_nesting must be >= 1, got {self.max_nesting}.")


@dataclass(frozen=True)
class ConstraintSpec:
    """One constraint. Build it with :meth:`json_schema`, :meth:`regex`, :meth:`grammar` or
    :meth:`choice`; ``text`` holds the canonical source (schema JSON, regex, grammar text, or a
    JSON list of the choices)."""

    kind: ConstraintKind
    text: str
    syntax: GrammarSyntax | None = None
    options: ConstraintOptions = field(default_factory=ConstraintOptions)

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
        obj = _load_schema(schema)
        if obj is True:
            obj = {}  # the schema `true` accepts any JSON value, like `{}`
        elif obj is False:
            raise InvalidSchemaError(
                "the JSON schema `false` accepts no value, so nothing could be generated."
            )
        # key order is kept: it is the order properties are generated in
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        _check_schema_text(text)
        opts = ConstraintOptions(whitespace, max_nesting, allow_relaxed)
        return cls("json_schema", text, None, opts)

    @classmethod
    def regex(cls, pattern: str) -> ConstraintSpec:
        """A regular expression the whole output must match (Rust ``regex`` syntax)."""
        if not isinstance(pattern, str):
            raise ConstraintCompileError(
                f"regex: expected a string pattern, got {type(pattern).__name__}."
            )
        return cls("regex", pattern)

    @classmethod
    def grammar(cls, text: str, syntax: str = "lark") -> ConstraintSpec:
        """A context-free grammar in Lark (llguidance dialect) or GBNF (llama.cpp) syntax."""
        if syntax not in GRAMMAR_SYNTAXES:
            raise ConstraintCompileError(
                f"grammar: unsupported syntax {syntax!r}; use one of {', '.join(GRAMMAR_SYNTAXES)}."
            )
        if not isinstance(text, str) or not text.strip():
            raise ConstraintCompileError("grammar: the grammar text is empty.")
        return cls("grammar", text, syntax)  # type: ignore[arg-type]

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
        return cls("choice", json.dumps(list(dict.fromkeys(items)), ensure_ascii=False))

    # --- accessors --------------------------------------------------------------------------

    @property
    def schema(self) -> Any:
        """The JSON schema (kind ``json_schema`` only)."""
        if self.kind != "json_schema":
            raise AttributeError(f"a {self.kind} constraint has no schema")
        return json.loads(self.text)

    @property
    def choices(self) -> list[str]:
        """The options (kind ``choice`` only)."""
        if self.kind != "choice":
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
        raw = f"{self.kind}\0{self.syntax}\0{o.whitespace}\0{o.max_nesting}\0{o.allow_relaxed}\0{o.lenient}\0{self.text}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """A short human description for error messages (never the full text)."""
        head = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        extra = f" ({self.syntax})" if self.syntax else ""
        return f"{self.kind}{extra} {head!r}"


def _load_schema(schema: Mapping[str, Any] | str | bool) -> Any:
    from instructor_py.schema_safety import check_schema

    if isinstance(schema, str):
        try:
            loaded = json.loads(schema)
        except RecursionError:
            raise InvalidSchemaError(
                "JSON schema text nests too deeply to parse; flatten it or use $defs with $ref."
            ) from None
        except json.JSONDecodeError as exc:
            raise InvalidSchemaError(
                f"JSON schema text is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}."
            ) from exc
        check_schema(loaded, where="the JSON schema constraint")
        return loaded
    if isinstance(schema, bool):
        return schema
    if isinstance(schema, Mapping):
        check_schema(schema, where="the JSON schema constraint")  # before json.dumps walks it
        try:
            return json.loads(json.dumps(schema))
        except (TypeError, ValueError) as exc:
            raise InvalidSchemaError(f"JSON schema is not JSON-serializable: {exc}.") from exc
    raise InvalidSchemaError(
        f"JSON schema must be a dict, a bool or JSON text, got {type(schema).__name__}."
    )


@lru_cache(maxsize=512)
def _check_schema_text(text: str) -> None:
    """Meta-validate a schema once per distinct text (it costs milliseconds; a retry or a cache
    hit builds the same spec again). Only successes are cached: errors are raised each time."""
    _check_schema(json.loads(text))


def _check_schema(obj: Any) -> None:
    import jsonschema
    from jsonschema.exceptions import SchemaError

    if isinstance(obj, bool):
        return
    if not isinstance(obj, dict):
        raise InvalidSchemaError(
            f"JSON schema must be an object or a bool, got {type(obj).__name__}."
        )
    validator = jsonschema.validators.validator_for(obj, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(obj)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidSchemaError(f"invalid JSON schema at {where}: {exc.message}") from exc
