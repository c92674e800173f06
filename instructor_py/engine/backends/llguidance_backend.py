"""The llguidance backend (default): JSON schema, regex, Lark and GBNF grammars, choice.

llguidance compiles everything into its own grammar format (a JSON string) and builds an
``LLMatcher`` from it; mask computation releases the GIL, and ``LLExecutor`` fills a whole batch of
masks in parallel native threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import llguidance as llg
import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConstraintCompileError, ConstraintError
from instructor_py.constraints.spec import ConstraintSpec
from instructor_py.engine.backends.base import BackendMatcher, BackendStats, StatsCounter
from instructor_py.engine.backends.llguidance_grammar import llguidance_grammar
from instructor_py.engine.backends.llguidance_tokenizer import lltokenizer_for
from instructor_py.engine.bitmask import (
    Bitmask,
    MaskRows,
    allocate_bitmask,
    bitmask_words,
    check_bitmask,
    count_allowed,
    is_token_allowed,
)
from instructor_py.engine.composite import dedupe_captures
from instructor_py.engine.healing import prefix_index
from instructor_py.engine.tokenizer import TokenizerInfo


class LLGuidanceMatcher:
    """:class:`~instructor_py.engine.matcher.Matcher` over an ``llguidance.LLMatcher``.

    A token the grammar does not allow is refused (False) without putting the matcher in its
    error state: tokens are tried with ``try_consume_tokens``. Once the grammar is complete and
    closed (``is_terminated()``), an EOS token is accepted (and counted, so ``rollback`` stays
    consistent) although llguidance itself treats it as a no-op.

    llguidance keeps its captures through ``rollback`` and ``reset``; so the matcher remembers
    the tokens it consumed and, after either, :meth:`segments` replays them on a copy of the
    initial matcher (``origin``).
    """

    __slots__ = (
        "_eos", "_heal", "_ids", "_info", "_m", "_n", "_origin", "_rows", "_stale", "_tail_eos",
    )  # fmt: skip

    def __init__(
        self,
        m: Any,
        info: TokenizerInfo,
        accepted: int = 0,
        tail_eos: int = 0,
        origin: Any = None,
        ids: list[int] | None = None,
        stale: bool = False,
        heal: tuple[npt.NDArray[np.int32], int] | None = None,
    ) -> None:
        self._m = m
        self._info = info
        self._n = accepted
        self._tail_eos = tail_eos
        self._origin = origin if origin is not None else m.deep_copy()
        self._ids: list[int] = ids if ids is not None else []
        self._stale = stale
        self._eos = frozenset(info.eos_token_ids)
        self._rows = MaskRows(bitmask_words(info.vocab_size))
        # token healing: (the next token's mask, the left-out token) while the next token must
        # start with that token's bytes (see :meth:`heal`); None otherwise
        self._heal = heal

    @property
    def raw(self) -> Any:
        """The underlying ``llguidance.LLMatcher``."""
        return self._m

    @property
    def tokens_accepted(self) -> int:
        return self._n

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        rows = self._rows
        address = rows.address(bitmask, index)  # validated once per array, cached per row
        m = self._m
        if m.is_error():
            raise ConstraintError(f"llguidance matcher is in an error state: {m.get_error()}")
        if self._heal is not None:
            bitmask[index, : rows.words] = self._heal[0]
        else:
            m.unsafe_compute_mask_ptr(address, rows.nbytes)
        rows.clear_tail(bitmask, index)

    @property
    def healing_mask(self) -> npt.NDArray[np.int32] | None:
        """The next token's mask while a heal is pending (:meth:`heal`), else None."""
        return self._heal[0] if self._heal is not None else None

    @property
    def healing_token(self) -> int | None:
        """The token a pending heal left to the model (:meth:`heal`), else None."""
        return self._heal[1] if self._heal is not None else None

    def heal(self, token_id: int) -> bool:
        """Leave ``token_id`` (the last token of a forced text, not accepted) to the model: True
        when a longer token that starts with its bytes is allowed here; the next token must then
        start with those bytes (the mask says so; other tokens are refused). False (nothing
        changed) when no longer token is allowed: the caller forces ``token_id``."""
        prefix = self._info.token_bytes[token_id]
        if not prefix or self._tail_eos or self._m.is_stopped() or self._m.is_error():
            return False
        allowed = prefix_index(self._info).mask(prefix)
        grammar = np.zeros(allowed.shape[0], dtype=np.int32)
        self._m.unsafe_compute_mask_ptr(grammar.ctypes.data, grammar.nbytes)
        healed = grammar & allowed
        if count_allowed(healed, self._info.vocab_size) <= is_token_allowed(healed, token_id):
            return False  # no longer token is allowed here
        self._heal = (healed, token_id)
        return True

    def _healed(self, token_id: int) -> bool:
        """Whether ``token_id`` may come next under a pending heal (True without one)."""
        return self._heal is None or is_token_allowed(self._heal[0], token_id)

    def _check(self, token_ids: Sequence[int]) -> list[int]:
        ids = list(token_ids)
        n = self._info.vocab_size
        for t in ids:
            if not 0 <= t < n:
                self._info.check_token(t)
        return ids

    def _leading_eos(self, ids: list[int]) -> int:
        k = 0
        while k < len(ids) and ids[k] in self._eos:
            k += 1
        return k

    def accept_token(self, token_id: int) -> bool:
        if not 0 <= token_id < self._info.vocab_size:
            self._info.check_token(token_id)
        m = self._m
        if token_id in self._eos and m.is_stopped() and not m.is_error():
            self._tail_eos += 1
            self._n += 1
            return True
        if not self._healed(token_id):
            return False
        k = int(m.try_consume_tokens([token_id]))
        self._n += k
        if k:
            self._ids.append(token_id)
            self._heal = None
        return k == 1

    def consume_allowed(self, token_id: int) -> bool:
        """Advance by a token the caller found allowed in this matcher's latest mask (filled with
        no state change since; never an EOS): one ``consume_token``, without the trial that
        :meth:`accept_token` makes. A matcher that refuses it anyway raises ConstraintError."""
        if not self._m.consume_token(token_id):
            raise ConstraintError(
                f"llguidance refused token {token_id} that its own mask allowed: "
                f"{self._m.get_error() or 'no error reported'}"
            )
        self._n += 1
        self._ids.append(token_id)
        self._heal = None
        return True

    def accept_tokens(self, token_ids: Sequence[int]) -> bool:
        ids = self._check(token_ids)
        if not ids:
            return True
        if not self._healed(ids[0]):
            return False
        m = self._m
        k = 0 if self._tail_eos else int(m.try_consume_tokens(ids))
        if k:
            self._heal = None
        self._n += k
        self._ids.extend(ids[:k])
        if k < len(ids) and m.is_stopped() and not m.is_error():
            extra = self._leading_eos(ids[k:])
            self._tail_eos += extra
            self._n += extra
            k += extra
        return k == len(ids)

    def validate_tokens(self, token_ids: Sequence[int]) -> int:
        ids = self._check(token_ids)
        if not ids or not self._healed(ids[0]):
            return 0
        m = self._m
        k = 0 if self._tail_eos else int(m.validate_tokens(ids))
        if k < len(ids) and ids[k] in self._eos:
            if k == 0:
                stopped = bool(m.is_stopped())
            else:
                probe = m.deep_copy()
                probe.consume_tokens(ids[:k])
                stopped = bool(probe.is_stopped())
            if stopped:
                k += self._leading_eos(ids[k:])
        return k

    def is_accepting(self) -> bool:
        return bool(self._m.is_accepting())

    def is_terminated(self) -> bool:
        return bool(self._m.is_stopped())

    def rollback(self, num_tokens: int) -> None:
        if not 0 <= num_tokens <= self._n:
            raise ValueError(f"rollback({num_tokens}): only {self._n} tokens have been accepted.")
        if num_tokens:
            self._heal = None
        eos = min(num_tokens, self._tail_eos)
        self._tail_eos -= eos
        rest = num_tokens - eos
        if rest:
            self._m.rollback(rest)
            del self._ids[len(self._ids) - rest :]
            self._stale = True
        self._n -= num_tokens

    def reset(self) -> None:
        self._m.reset()
        self._heal = None
        self._n = 0
        self._tail_eos = 0
        self._ids.clear()
        self._stale = True

    def compute_ff_tokens(self) -> list[int]:
        if self._heal is not None:  # the model picks the next token (see heal)
            return []
        return [int(t) for t in self._m.compute_ff_tokens()]

    def compute_ff_bytes(self) -> bytes:
        """Every byte the grammar forces next. :meth:`compute_ff_tokens` stops earlier: it leaves
        out a tail whose tokenization could still merge with the bytes that follow."""
        if self._tail_eos or self._heal is not None or self._m.is_stopped():
            return b""
        return bytes(self._m.compute_ff_bytes())

    def segments(self) -> list[tuple[str, str]]:
        """``(label, text)`` of every labeled part generated so far, in output order (from
        llguidance's named captures; empty for a spec without labels).

        A part still open at the end of the output (free text, a regex that could go on) is
        only captured once the output ends: when the output so far is a complete match, the
        captures are read from a copy of the matcher that has accepted an end-of-sequence.
        """
        m = self._m
        if self._stale:  # captures from before a rollback/reset linger: replay the tokens
            m = self._origin.deep_copy()
            m.consume_tokens(self._ids)
        if not m.is_stopped() and m.is_accepting() and not m.is_error():
            probe = m.deep_copy()
            if probe.try_consume_tokens([self._info.eos_token_ids[0]]) == 1:
                m = probe
        return dedupe_captures(list(m.get_captures()))

    def clone(self) -> LLGuidanceMatcher:
        return LLGuidanceMatcher(
            self._m.deep_copy(),
            self._info,
            self._n,
            self._tail_eos,
            self._origin,
            list(self._ids),
            self._stale,
            self._heal,
        )

    def get_error(self) -> str | None:
        err = str(self._m.get_error())
        return err or None


class LLGuidanceBackend:
    """Compiles every constraint kind with llguidance."""

    def __init__(
        self, tokenizer: TokenizerInfo, *, num_threads: int | None = None, limits: Any = None
    ) -> None:
        """``limits``: an ``llguidance.LLParserLimits`` (default: llguidance's, without verbose
        errors); ``num_threads``: threads of the batch executor (default: llguidance's choice)."""
        self._info = tokenizer
        self._tok = lltokenizer_for(tokenizer)
        self._limits = limits if limits is not None else llg.LLParserLimits(verbose_errors=False)
        self._stats = StatsCounter(self.name)
        self._num_threads = num_threads
        self._executor: Any = None

    @property
    def name(self) -> str:
        return "llguidance"

    @property
    def lltokenizer(self) -> Any:
        return self._tok

    def supports(self, spec: ConstraintSpec) -> bool:
        return self.unsupported_reason(spec) is None

    def unsupported_reason(self, spec: ConstraintSpec) -> str | None:
        if spec.kind == "grammar" and spec.syntax not in ("lark", "gbnf"):
            return f"llguidance does not read {spec.syntax} grammars"
        return None

    def compile(self, spec: ConstraintSpec) -> LLGuidanceMatcher:
        start = time.perf_counter()
        ok = False
        try:
            grammar = llguidance_grammar(spec)
            matcher = self.matcher_from_grammar(grammar, spec)
            ok = True
            return matcher
        finally:
            self._stats.record(time.perf_counter() - start, ok)

    def matcher_from_grammar(
        self, grammar: str, spec: ConstraintSpec | None = None
    ) -> LLGuidanceMatcher:
        """A matcher from an llguidance grammar string (the output of :func:`llguidance_grammar`)."""
        m = llg.LLMatcher(self._tok, grammar, log_level=0, limits=self._limits)
        if m.is_error():
            what = spec.describe() if spec is not None else "grammar"
            raise ConstraintCompileError(
                f"llguidance could not compile {what}: {_first_lines(m.get_error())}"
            )
        return LLGuidanceMatcher(m, self._info)

    def allocate_bitmask(self, n: int) -> Bitmask:
        return allocate_bitmask(n, self._info.logits_width)

    def fill_bitmask_batch(
        self, items: Sequence[tuple[BackendMatcher, int]], bitmask: Bitmask
    ) -> None:
        words = bitmask_words(self._info.vocab_size)
        pairs: list[tuple[Any, int]] = []
        for matcher, index in items:
            if not isinstance(matcher, LLGuidanceMatcher):
                raise ConstraintError(
                    "fill_bitmask_batch: a matcher does not come from llguidance."
                )
            check_bitmask(bitmask, index, words)
            heal = matcher.healing_mask
            if heal is not None:  # a pending heal has its row already (LLGuidanceMatcher.heal)
                bitmask[index, :words] = heal
                bitmask[index, words:] = 0
                continue
            if matcher.raw.is_error():
                raise ConstraintError(
                    f"llguidance matcher {index} is in an error state: {matcher.get_error()}"
                )
            pairs.append((matcher.raw, index))
        if not pairs:
            return
        if self._executor is None:
            self._executor = llg.LLExecutor(num_threads=self._num_threads)
        if bitmask.shape[1] == words:
            target = bitmask
        else:  # rows wider than the vocabulary: fill a narrow scratch array, then copy
            target = np.zeros((bitmask.shape[0], words), dtype=np.int32)
        self._executor.unsafe_compute_mask_ptr(
            pairs, target.ctypes.data, words * 4, target.shape[0]
        )
        if target is not bitmask:
            rows = [index for _, index in pairs]
            bitmask[rows, :words] = target[rows]
            bitmask[rows, words:] = 0

    def get_stats(self) -> BackendStats:
        return self._stats.snapshot()


def _first_lines(text: str, limit: int = 6) -> str:
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    out = "\n".join(lines[:limit])
    return out if len(lines) <= limit else out + "\n..."
