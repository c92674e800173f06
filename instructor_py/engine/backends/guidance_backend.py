"""The Guidance backend: Guidance-style templates (gen / select / json) on llguidance.

A template (:class:`~instructor_py.guidance.template.GuidanceTemplate`) is lowered
to a composite constraint (literals and labeled variables), compiled to llguidance's Lark dialect
once per template (an LRU cache of :class:`CompiledGuidanceProgram`), and run by a
:class:`GuidanceState` per generation; the captured variables come back from llguidance's named
captures (:meth:`GuidanceGrammar.get_variable_values`).

In the orchestrator it is registered like the other backends (name ``"guidance"``) and is the
preferred backend of ``template_constraint(...)`` specs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from instructor_py.common.errors import ConstraintCompileError, ConstraintError
from instructor_py.constraints.kinds import ConstraintType, StructuredOutputBackendType
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher, BackendStats, StatsCounter
from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend, LLGuidanceMatcher
from instructor_py.engine.bitmask import Bitmask, allowed_token_ids
from instructor_py.engine.composite import composite_grammar
from instructor_py.engine.tokenizer import TokenizerInfo
from instructor_py.guidance.template import (
    GuidanceTemplate,
    GuidanceTemplateType,
    GuidanceVariable,
)

__all__ = [
    "AsyncGuidanceBackend",
    "CompiledGuidanceProgram",
    "GuidanceBackend",
    "GuidanceGrammar",
    "GuidanceState",
    "GuidanceTemplate",
    "GuidanceTemplateType",
    "GuidanceVariable",
]


class GuidanceState:
    """One run of a template: the llguidance matcher, the tokens so far, the captured values."""

    def __init__(self, program: CompiledGuidanceProgram, matcher: LLGuidanceMatcher) -> None:
        self.program = program
        self.matcher = matcher
        self._tokens: list[int] = []

    @property
    def template(self) -> GuidanceTemplate:
        return self.program.template

    @property
    def text(self) -> str:
        """The output so far."""
        info = self.program.tokenizer
        special = info.special_token_ids
        data = b"".join(info.token_bytes[t] for t in self._tokens if t not in special)
        return data.decode("utf-8", "replace")

    def accept_token(self, token_text: str | int) -> bool:
        """Advance by one token id, or by the tokens of a piece of text (``str``); False (and
        no change) if the template does not allow it."""
        if isinstance(token_text, str):
            ids = self.program.tokenizer.tokenize(token_text.encode("utf-8"))
            if self.matcher.validate_tokens(ids) != len(ids):
                return False
            return self.accept_tokens(ids)
        if self.matcher.accept_token(token_text):
            self._tokens.append(token_text)
            return True
        return False

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        """Advance by several token ids; False at the first one not allowed (the ones before
        stay accepted)."""
        ids = [int(t) for t in token_ids]
        before = self.matcher.tokens_accepted
        ok = self.matcher.accept_tokens(ids)
        self._tokens.extend(ids[: self.matcher.tokens_accepted - before])
        return ok

    def rollback(self, num_tokens: int) -> None:
        self.matcher.rollback(num_tokens)
        del self._tokens[len(self._tokens) - min(num_tokens, len(self._tokens)) :]

    def get_allowed_tokens(self, vocab_size: int | None = None) -> list[int]:
        """The token ids allowed next (below ``vocab_size``, default the tokenizer's)."""
        mask = self.program.allocate_bitmask(1)
        self.matcher.fill_next_token_bitmask(mask, 0)
        limit = self.program.tokenizer.vocab_size if vocab_size is None else vocab_size
        return [
            int(t)
            for t in allowed_token_ids(mask[0], self.program.tokenizer.vocab_size)
            if t < limit
        ]

    def get_variable_values(self) -> dict[str, Any]:
        """The variables generated so far: gen/select as strings, json parsed."""
        return self.template.values_from_segments(self.matcher.segments())

    def reset(self) -> None:
        self.matcher.reset()
        self._tokens.clear()

    def clone(self) -> GuidanceState:
        state = GuidanceState(self.program, self.matcher.clone())
        state._tokens = list(self._tokens)
        return state


class CompiledGuidanceProgram:
    """A template compiled for one tokenizer: the llguidance grammar and a prototype matcher."""

    def __init__(
        self, template: GuidanceTemplate, backend: LLGuidanceBackend, tokenizer: TokenizerInfo
    ) -> None:
        self.template = template
        self.tokenizer = tokenizer
        self.vocab_size = tokenizer.vocab_size
        self._backend = backend
        spec = template.to_constraint()
        self.spec = spec
        self.grammar = composite_grammar(spec)
        self._prototype = backend.matcher_from_grammar(self.grammar, spec)

    def create_state(self) -> GuidanceState:
        """A fresh state at the start of the template."""
        return GuidanceState(self, self._prototype.clone())

    def allocate_bitmask(self, batch_size: int = 1) -> Bitmask:
        return self._backend.allocate_bitmask(batch_size)

    def fill_bitmask(self, state: GuidanceState, bitmask: Bitmask, index: int = 0) -> None:
        state.matcher.fill_next_token_bitmask(bitmask, index)

    def is_terminated(self, state: GuidanceState) -> bool:
        return state.matcher.is_terminated()


class GuidanceGrammar:
    """The :class:`~instructor_py.engine.matcher.Matcher` of one template run (what the
    orchestrator's handle wraps), plus the template's own methods."""

    __slots__ = ("program", "state", "tokenizer")

    def __init__(
        self,
        program: CompiledGuidanceProgram,
        tokenizer: TokenizerInfo | None = None,
        state: GuidanceState | None = None,
    ) -> None:
        self.program = program
        self.tokenizer = tokenizer or program.tokenizer
        self.state = state or program.create_state()

    @property
    def raw(self) -> Any:
        return self.state.matcher.raw

    @property
    def tokens_accepted(self) -> int:
        return self.state.matcher.tokens_accepted

    def accept_token(self, token_id: int) -> bool:
        return self.state.accept_token(int(token_id))

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        return self.state.accept_tokens(token_ids)

    def accept_token_text(self, text: str) -> bool:
        """Advance by the tokens of ``text`` (all or nothing)."""
        return self.state.accept_token(text)

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        return self.state.matcher.validate_tokens(token_ids)

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        self.program.fill_bitmask(self.state, bitmask, index)

    def is_accepting(self) -> bool:
        return self.state.matcher.is_accepting()

    def is_terminated(self) -> bool:
        return self.program.is_terminated(self.state)

    def rollback(self, num_tokens: int) -> None:
        self.state.rollback(num_tokens)

    def reset(self) -> None:
        self.state.reset()

    def compute_ff_tokens(self) -> list[int]:
        return self.state.matcher.compute_ff_tokens()

    def compute_ff_bytes(self) -> bytes:
        return self.state.matcher.compute_ff_bytes()

    def clone(self) -> GuidanceGrammar:
        return GuidanceGrammar(self.program, self.tokenizer, self.state.clone())

    def get_error(self) -> str | None:
        return self.state.matcher.get_error()

    def segments(self) -> list[tuple[str, str]]:
        return self.state.matcher.segments()

    def get_variable_values(self) -> dict[str, Any]:
        """The captured variables: ``{name: value}`` (json variables parsed)."""
        return self.state.get_variable_values()

    def create_state(self) -> GuidanceState:
        """A fresh state of the same program (this grammar's state is unchanged)."""
        return self.program.create_state()


class GuidanceBackend:
    """Compiles templates (and JSON schemas, through a schema -> template conversion) on
    llguidance. ``max_cache_size`` compiled programs are kept (LRU)."""

    preferred_kinds = frozenset({ConstraintType.TEMPLATE})

    def __init__(
        self,
        tokenizer: TokenizerInfo,
        vocab_size: int | None = None,
        max_cache_size: int = 64,
    ) -> None:
        self._info = tokenizer
        self.vocab_size = vocab_size or self._get_vocab_size(tokenizer)
        self._llg = LLGuidanceBackend(tokenizer)
        self._cache: OrderedDict[str, CompiledGuidanceProgram] = OrderedDict()
        self._max_cache_size = max_cache_size
        self._lock = threading.Lock()
        self._stats = StatsCounter(self.name)
        self._hits = 0
        self._misses = 0

    @staticmethod
    def _get_vocab_size(tokenizer: TokenizerInfo) -> int:
        return tokenizer.vocab_size

    @property
    def name(self) -> str:
        return StructuredOutputBackendType.GUIDANCE.value

    # --- the Backend protocol -----------------------------------------------------------------

    def supports(self, spec: ConstraintSpec) -> bool:
        return self.unsupported_reason(spec) is None

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        if spec.kind == ConstraintType.TEMPLATE and spec.label is None:
            return None
        return "the guidance backend compiles templates (use compile_json_schema for a schema)"

    def compile(self, spec: ConstraintSpec) -> GuidanceGrammar:
        if spec.kind == ConstraintType.TEMPLATE:
            variables = json.loads(spec.data) if spec.data else None
            return self._grammar(GuidanceTemplate(spec.text, variables))
        raise ConstraintCompileError(f"guidance: cannot compile {spec.describe()}")

    def allocate_bitmask(self, batch_size: int = 1) -> Bitmask:
        return self._llg.allocate_bitmask(batch_size)

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        inner: list[tuple[BackendMatcher, int]] = []
        for matcher, index in items:
            if not isinstance(matcher, GuidanceGrammar):
                raise ConstraintError("fill_bitmask_batch: a matcher does not come from guidance.")
            inner.append((matcher.state.matcher, index))
        self._llg.fill_bitmask_batch(inner, bitmask)

    def get_stats(self) -> BackendStats:
        return self._stats.snapshot()

    # --- the seed's API -----------------------------------------------------------------------

    def compile_template(
        self, template_str: str, variables: Mapping[str, Any] | None = None
    ) -> GuidanceGrammar:
        """A fresh grammar for the template (compiled once per distinct template)."""
        return self._grammar(GuidanceTemplate(template_str, variables))

    def compile_json_schema(self, schema: Mapping[str, Any] | str | bool) -> GuidanceGrammar:
        """A grammar for the schema, through :meth:`_schema_to_template` (an object whose
        properties are all required becomes one json variable per property)."""
        text = ConstraintSpec.json_schema(schema).text
        template, variables = self._schema_to_template(json.loads(text))
        return self._grammar(GuidanceTemplate(template, variables))

    @staticmethod
    def _schema_to_template(schema: Any) -> tuple[str, dict[str, Any]]:
        """``(template, variables)`` generating JSON text valid for ``schema``.

        A closed object schema whose properties are all required, without ``$ref``/``$defs``,
        is spelled out key by key (``{"name":{{json 'name' schema=s0}},...}``), so each property
        is a variable; any other schema is one variable ``value``.
        """
        if (
            isinstance(schema, dict)
            and schema.get("type") == "object"
            and isinstance(schema.get("properties"), dict)
            and schema["properties"]
            and set(schema.get("required", ())) == set(schema["properties"])
            and schema.get("additionalProperties") is False
            and "$defs" not in json.dumps(schema)
            and "$ref" not in json.dumps(schema)
            and set(schema)
            <= {"type", "properties", "required", "additionalProperties", "title", "description"}
            and all(_is_name(k) for k in schema["properties"])
        ):
            pieces: list[str] = []
            variables: dict[str, Any] = {}
            for i, (key, sub) in enumerate(schema["properties"].items()):
                ref = f"s{i}"
                variables[ref] = sub
                head = "{" if i == 0 else ","
                quoted = json.dumps(key, ensure_ascii=False).replace("{{", "\\{{")
                pieces.append(f"{head}{quoted}:{{{{json '{key}' schema={ref}}}}}")
            return "".join(pieces) + "}", variables
        return "{{json 'value' schema=schema}}", {"schema": schema}

    def get_stats_dict(self) -> dict[str, Any]:
        """Cache and compile counters as a dict."""
        stats = self._stats.snapshot()
        return {
            "templates_cached": len(self._cache),
            "cache_hits": self._hits,
            "cache_misses": self._misses,
            "compiles": stats.compiles,
            "compile_errors": stats.compile_errors,
            "compile_seconds": stats.compile_seconds,
        }

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _grammar(self, template: GuidanceTemplate) -> GuidanceGrammar:
        return GuidanceGrammar(self._program(template), self._info)

    def _program(self, template: GuidanceTemplate) -> CompiledGuidanceProgram:
        key = template.cache_key
        with self._lock:
            program = self._cache.get(key)
            if program is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return program
            self._misses += 1
        start = time.perf_counter()
        ok = False
        try:
            program = CompiledGuidanceProgram(template, self._llg, self._info)
            ok = True
        finally:
            self._stats.record(time.perf_counter() - start, ok)
        with self._lock:
            self._cache[key] = program
            while len(self._cache) > self._max_cache_size:
                self._cache.popitem(last=False)
        return program


class AsyncGuidanceBackend(GuidanceBackend):
    """The Guidance backend with ``acompile_template`` / ``acompile_json_schema`` (the same
    compilation, in a worker thread)."""

    async def acompile_template(
        self, template_str: str, variables: Mapping[str, Any] | None = None
    ) -> GuidanceGrammar:
        return await asyncio.to_thread(self.compile_template, template_str, variables)

    async def acompile_json_schema(self, schema: Mapping[str, Any] | str | bool) -> GuidanceGrammar:
        return await asyncio.to_thread(self.compile_json_schema, schema)


def _is_name(key: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key) is not None
