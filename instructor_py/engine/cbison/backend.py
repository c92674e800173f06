"""`CbisonBackend`: any CBISON engine as a backend of `StructuredOutputOrchestrator`.

Constraint kinds map to CBISON grammar types (:func:`~instructor_py.engine.cbison.grammar_types.grammar_for_spec`):
JSON schema -> ``json_schema`` (options in ``x-guidance``), regex -> ``regex``, choice -> an
escaped ``regex`` alternation, grammars -> ``lark`` / ``gbnf``. When the engine refuses a grammar
(``get_error`` on the new matcher) ``compile`` raises ConstraintCompileError with its text, so the
orchestrator falls back on the next backend. What the engine does not read is declined up
front: grammar types outside ``grammar_types`` (when given) without asking the engine; otherwise
(by default) the engine is asked about the grammar at hand with ``validate_grammar`` (an engine may
implement a subset of a type: some regexes, not all), and a grammar it refuses makes
:meth:`CbisonBackend.supports` False with the engine's message as the reason. Answers are cached
per grammar (:data:`VALIDATION_CACHE` entries).

The matcher (:class:`CbisonBackendMatcher`) follows our :class:`~instructor_py.engine.matcher.Matcher`
contract on top of whatever the engine provides: a refused token returns False without changing
state (checked with ``validate_tokens``, or the mask when the engine has none), and when the
engine leaves ``clone_matcher``, ``rollback`` or ``reset`` NULL they are rebuilt from a new matcher
and the accepted tokens (so the orchestrator's compile cache works with any engine).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from instructor_py.common.errors import (
    CbisonError,
    ConfigurationError,
    ConstraintCompileError,
    ConstraintError,
    TokenOutOfRangeError,
)
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher, BackendStats, StatsCounter
from instructor_py.engine.bitmask import Bitmask, MaskRows, allocate_bitmask, is_token_allowed
from instructor_py.engine.cbison.consume import CbisonFactory, CbisonMatcher
from instructor_py.engine.cbison.grammar_types import grammar_for_spec
from instructor_py.engine.tokenizer import TokenizerInfo

#: How many ``validate_grammar`` answers a backend remembers (most recently asked kept).
VALIDATION_CACHE = 256


class CbisonBackendMatcher:
    """Our matcher protocol over a :class:`CbisonMatcher`."""

    __slots__ = ("_f", "_grammar", "_history", "_m", "_rows", "_words")

    def __init__(
        self, m: CbisonMatcher, grammar: tuple[str, str], history: Sequence[int] = ()
    ) -> None:
        self._m = m
        self._f = m.factory
        self._grammar = grammar
        self._history = list(history)
        self._words = self._f.mask_byte_len // 4
        self._rows = MaskRows(self._words)

    @property
    def raw(self) -> CbisonMatcher:
        return self._m

    @property
    def tokens_accepted(self) -> int:
        return len(self._history)

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        self._m.compute_mask_at(self._rows.address(bitmask, index))
        self._rows.clear_tail(bitmask, index)

    def _allowed(self, token_id: int) -> bool:
        mask = allocate_bitmask(1, self._words * 32)
        self._m.compute_mask(mask, 0)
        return is_token_allowed(mask[0], token_id)

    def _check(self, token_ids: Sequence[int]) -> list[int]:
        ids = [int(t) for t in token_ids]
        n = self._f.n_vocab
        for t in ids:
            if not 0 <= t < n:
                raise TokenOutOfRangeError(
                    f"token id {t} is outside the engine's vocabulary [0, {n})."
                )
        return ids

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        ids = self._check(token_ids)
        if not ids or self._m.get_error() is not None:
            return 0
        if self._f.fn_validate_tokens is not None:
            return self._m.validate_tokens(ids)
        probe = self.clone()  # no validate_tokens in the engine: walk a copy, mask by mask
        try:
            k = 0
            for t in ids:
                if not probe._allowed(t):
                    break
                probe._m.consume_tokens([t])
                k += 1
            return k
        finally:
            probe._m.free()

    def accept_token(self, token_id: int) -> bool:
        return self.accept_tokens([token_id])

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        ids = self._check(token_ids)
        if not ids:
            return True
        if self._m.get_error() is not None:
            return False
        if len(ids) == 1 and self._f.fn_validate_tokens is None:
            k = 1 if self._allowed(ids[0]) else 0
        else:
            k = self.validate_tokens(ids)
        if k:
            self._m.consume_tokens(ids[:k])
            self._history.extend(ids[:k])
        return k == len(ids)

    def is_accepting(self) -> bool:
        return self._m.is_accepting()

    def is_terminated(self) -> bool:
        return self._m.is_stopped()

    def _rebuild(self, history: Sequence[int]) -> CbisonMatcher:
        fresh = self._f.new_matcher(*self._grammar)
        err = fresh.get_error()
        if err is None and history:
            fresh.consume_tokens(history)
            err = fresh.get_error()
        if err is not None:
            fresh.free()
            raise CbisonError(f"could not rebuild the matcher: {err}")
        return fresh

    def rollback(self, num_tokens: int) -> None:
        if not 0 <= num_tokens <= len(self._history):
            raise ValueError(
                f"rollback({num_tokens}): only {len(self._history)} tokens have been accepted."
            )
        if not num_tokens:
            return
        keep = self._history[: len(self._history) - num_tokens]
        if self._f.fn_rollback is not None:
            self._m.rollback(num_tokens)
        else:
            old, self._m = self._m, self._rebuild(keep)
            old.free()
        self._history = keep

    def reset(self) -> None:
        if self._f.fn_reset is not None and self._m.get_error() is None:
            self._m.reset()
        else:
            old, self._m = self._m, self._rebuild(())
            old.free()
        self._history = []

    def compute_ff_tokens(self) -> list[int]:
        if self._f.fn_compute_ff_tokens is None or self._m.get_error() is not None:
            return []
        return self._m.compute_ff_tokens()

    def clone(self) -> CbisonBackendMatcher:
        if self._f.fn_clone_matcher is not None:
            copy = self._m.clone()
        else:
            copy = self._rebuild(self._history)
        return CbisonBackendMatcher(copy, self._grammar, self._history)

    def get_error(self) -> str | None:
        return self._m.get_error()


class CbisonBackend:
    """A CBISON factory as an orchestrator backend.

    ``tokenizer``: the TokenizerInfo the factory was built for (checked against ``n_vocab``;
    gives the logits width of :meth:`allocate_bitmask`). ``grammar_types``: the types the engine
    accepts, when known (others are declined without asking the engine). With ``probe_types``
    (default) the engine's ``validate_grammar`` is asked about each grammar before it is compiled,
    so a refusal is a clean skip with the engine's reason; without it, a refused grammar fails in
    ``compile``. ``name`` shows in handles, statistics and fallback reasons.
    """

    def __init__(
        self,
        factory: CbisonFactory,
        *,
        name: str = "cbison",
        tokenizer: TokenizerInfo | None = None,
        grammar_types: Iterable[str] | None = None,
        probe_types: bool = True,
    ) -> None:
        if not isinstance(factory, CbisonFactory):
            raise ConfigurationError(
                f"CbisonBackend: expected a CbisonFactory, got {type(factory).__name__}; wrap an "
                "address with CbisonFactory(address) or use load_factory()."
            )
        if tokenizer is not None and tokenizer.vocab_size != factory.n_vocab:
            raise ConfigurationError(
                f"CbisonBackend: the factory's n_vocab ({factory.n_vocab}) differs from the "
                f"tokenizer's vocabulary ({tokenizer.vocab_size}); build the factory for this tokenizer."
            )
        self._factory = factory
        self._name = name
        self._width = tokenizer.logits_width if tokenizer is not None else factory.n_vocab
        self._types = frozenset(grammar_types) if grammar_types is not None else None
        self._probe = bool(probe_types)
        # (grammar type, grammar) -> the engine's refusal (None: accepted)
        self._answers: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._answers_lock = threading.Lock()
        self._stats = StatsCounter(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def factory(self) -> CbisonFactory:
        return self._factory

    def supports(self, spec: ConstraintSpec) -> bool:
        return self.unsupported_reason(spec) is None

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        grammar = grammar_for_spec(spec)
        if grammar is None:
            return f"CBISON has no grammar type for {spec.kind} constraints"
        gtype = grammar[0]
        if self._types is not None and gtype not in self._types:
            accepted = ", ".join(sorted(self._types))
            return f"the engine does not accept grammar type {gtype!r} (it accepts {accepted})"
        if self._probe:
            refusal = self._validate(grammar)
            if refusal is not None:
                return f"the engine refuses this {gtype} grammar ({refusal})"
        return None

    def _validate(self, grammar: tuple[str, str]) -> str | None:
        """The engine's ``validate_grammar`` on ``grammar``: None if accepted, else its message."""
        with self._answers_lock:
            if grammar in self._answers:
                self._answers.move_to_end(grammar)
                return self._answers[grammar]
        try:
            ok, msg = self._factory.validate_grammar(*grammar)
        except CbisonError as exc:
            ok, msg = False, str(exc)
        refusal = None if ok else (msg or "no message")
        with self._answers_lock:
            self._answers[grammar] = refusal
            while len(self._answers) > VALIDATION_CACHE:
                self._answers.popitem(last=False)
        return refusal

    def compile(self, spec: ConstraintSpec) -> CbisonBackendMatcher:
        start = time.perf_counter()
        ok = False
        try:
            grammar = grammar_for_spec(spec)
            why = self.unsupported_reason(spec)
            if grammar is None or why is not None:
                raise ConstraintCompileError(f"{self._name}: {why}")
            m = self._factory.new_matcher(*grammar)
            err = m.get_error()
            if err is not None:
                m.free()
                raise ConstraintCompileError(
                    f"{self._name} refused {spec.describe()} (grammar type {grammar[0]!r}): {err}"
                )
            ok = True
            return CbisonBackendMatcher(m, grammar)
        except CbisonError as exc:
            raise ConstraintCompileError(f"{self._name}: {exc}") from exc
        finally:
            self._stats.record(time.perf_counter() - start, ok)

    def allocate_bitmask(self, n: int) -> Bitmask:
        return allocate_bitmask(n, self._width)

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        matchers: list[CbisonMatcher] = []
        rows: list[int] = []
        for matcher, index in items:
            if (
                not isinstance(matcher, CbisonBackendMatcher)
                or matcher.raw.factory is not self._factory
            ):
                raise ConstraintError(
                    f"fill_bitmask_batch: a matcher does not come from {self._name}."
                )
            matchers.append(matcher.raw)
            rows.append(index)
        if matchers:
            self._factory.compute_masks(matchers, bitmask, rows)

    def get_stats(self) -> BackendStats:
        return self._stats.snapshot()
