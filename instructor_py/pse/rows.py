"""`EngineRows`: the per-row machinery behind `StructuringEngine`.

One :class:`EngineStepper` per batch row, one `BatchProcessor` bitmask for all rows (a single row
is filled directly, without the executor hand-off), and the token bookkeeping: reading the tokens
a framework chose from ``input_ids``, checking and accepting sampled tokens, resampling, and the
tokens the grammar forces (multi-token sampling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from instructor_py.common.errors import ConfigurationError, ConstraintError
from instructor_py.engine.batch import BatchProcessor
from instructor_py.engine.bitmask import Bitmask, apply_bitmask, bitmask_words, set_token_bits
from instructor_py.engine.forcing import forced_tokens
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.engine.orchestrator import StructuredOutputOrchestrator
from instructor_py.pse.adapters.arrays import (
    ScoresInfo,
    input_id_rows,
    numpy_row,
    one_token,
    read_scores,
    read_token_ids,
    row_for_sampler,
)
from instructor_py.pse.stepper import EngineStepper

__all__ = ["EngineRows"]


class EngineRows:
    """The rows of the current generation (see the module docs)."""

    def __init__(
        self, orchestrator: StructuredOutputOrchestrator, whitelist: frozenset[int]
    ) -> None:
        info = orchestrator.tokenizer_info
        self._orch = orchestrator
        self._info = info
        self._vocab = info.vocab_size
        self._eos = frozenset(info.eos_token_ids)
        self._special = frozenset(info.special_token_ids)
        # the bytes each token adds to a row's output: none for control and EOS tokens
        silent = self._special | self._eos
        self._visible = tuple(b"" if t in silent else b for t, b in enumerate(info.token_bytes))
        self.whitelist = whitelist
        self._control = self._eos | whitelist  # tokens accept() handles apart from the structure
        self.handle: CompiledGrammarHandle | None = None
        self.row_shape: tuple[int] | None = None  # scores shape of the per-token fast path
        self.steppers: list[EngineStepper] = []
        self._processor: BatchProcessor | None = None
        self._bits: Bitmask = np.zeros((1, 1), dtype=np.int32)  # the processor's bitmask
        self._row0: Bitmask = self._bits[0]  # and its first row
        self._width = 0
        self._fresh: list[bool] = []

    # --- rows ----------------------------------------------------------------------------------

    def reset(self, handle: CompiledGrammarHandle | None) -> None:
        """A new generation: one fresh stepper for ``handle`` (none without a structure)."""
        self.handle = handle
        self.set_steppers([] if handle is None else [EngineStepper(handle.fresh(), self._visible)])

    def set_steppers(self, steppers: list[EngineStepper]) -> None:
        self.steppers = steppers
        self._processor = None
        self._width = 0
        self._fresh = [False] * len(steppers)
        self.row_shape = None

    def ensure(self, info: ScoresInfo, what: str) -> None:
        """Rows and bitmask for a ``(batch, width)`` call (a fresh generation adapts its batch)."""
        if (
            self._processor is not None
            and info.batch == len(self.steppers)
            and info.width == self._width
        ):
            return  # the usual case: same rows, same width as the last call
        handle = self.handle
        if handle is None:
            raise ConfigurationError(
                f"{what}: no structure is configured; call engine.configure(structure) first."
            )
        if info.width < self._vocab:
            raise ConfigurationError(
                f"{what}: the scores have {info.width} columns but the tokenizer has {self._vocab} "
                "tokens; pass the full logits row (batch, vocab)."
            )
        if len(self.steppers) != info.batch:
            if any(s.token_ids or s.start is not None for s in self.steppers):
                raise ConfigurationError(
                    f"{what}: the batch has {info.batch} row(s) but this generation has "
                    f"{len(self.steppers)}; call engine.reset() before a new batch."
                )
            self.steppers = [
                EngineStepper(handle.fresh(), self._visible) for _ in range(info.batch)
            ]
            self._processor = None
        proc = self._processor
        if proc is None or proc.bitmask.shape[1] != bitmask_words(info.width):
            proc = BatchProcessor(self._orch, info.batch, vocab_size=info.width)
            for i, st in enumerate(self.steppers):
                proc.set_constraint(i, st.handle)
            self._processor = proc
            self._bits = proc.bitmask
            self._row0 = proc.bitmask[0]
            self._fresh = [False] * info.batch
        self._width = info.width
        self.row_shape = (info.width,) if info.batch == 1 else None

    # --- the per-token case: one row, a 1-D numpy row of the width seen before ------------------

    def mask_row(self, input_ids: Any, scores: Any) -> bool:
        """``process_logits`` for one row of the known width, without the general checks; False
        (nothing done) when the call needs the general path."""
        if not (
            type(scores) is np.ndarray
            and scores.shape == self.row_shape
            and scores.dtype.kind == "f"
        ):
            return False
        st = self.steppers[0]
        if input_ids is not None and not (
            type(input_ids) is np.ndarray
            and input_ids.ndim == 1
            and st.start is not None
            and input_ids.shape[0] == st.start + len(st.token_ids)
        ):
            self.sync(input_ids, 1)  # new tokens (or a new generation)
            if scores.shape != self.row_shape:
                return False
            st = self.steppers[0]
        row = self._row0
        if st.finished:
            row[:] = 0
        else:
            st.inner.fill_next_token_bitmask(self._bits, 0)
        if st.finished or self.whitelist:
            self._patch(row, st)
        self._fresh[0] = True
        apply_bitmask(scores, row, self._vocab)
        return True

    def sample_row(self, logprobs: Any, sampler: Callable[..., Any], attempts: int) -> Any:
        """``sample`` for one open row of the known width (no multi-token sampling): the token
        as a ``(1,)`` int64 array, or None (sampler not called) when the call needs the general
        path."""
        if not (
            type(logprobs) is np.ndarray
            and logprobs.shape == self.row_shape
            and logprobs.dtype.kind == "f"
            and not self.steppers[0].finished
        ):
            return None
        out = sampler(logprobs)
        t = out if type(out) is int else read_token_ids(out, 1)[0]
        if (
            self._fresh[0]
            and 0 <= t < self._vocab
            and t not in self._control
            and (self._bits.item(0, t >> 5) >> (t & 31)) & 1
        ):  # allowed by the row's fresh mask (accept()'s first case, inline)
            st = self.steppers[0]
            st.consume(t)
            st.token_ids.append(t)
            self._fresh[0] = False
        elif not self.accept(0, t):
            t = self.choose(0, t, logprobs, read_scores(logprobs), sampler, attempts)
        return one_token(t)

    # --- masks ---------------------------------------------------------------------------------

    def fill(self) -> Bitmask:
        """Every row's mask for the next token (a finished row allows only EOS)."""
        proc = self._processor
        assert proc is not None
        steppers = self.steppers
        if len(steppers) == 1:
            self._fresh[0] = False
            self.row_mask(0)
            return proc.bitmask
        bitmask = proc.fill_bitmask()
        for i, st in enumerate(steppers):
            self._patch(bitmask[i], st)
        self._fresh = [True] * len(steppers)
        return bitmask

    def row_mask(self, i: int) -> Any:
        """Row ``i`` of the bitmask for the row's current state (filled only if stale)."""
        assert self._processor is not None
        bitmask = self._processor.bitmask
        if not self._fresh[i]:
            st = self.steppers[i]
            if st.finished:
                bitmask[i] = 0
            else:
                st.inner.fill_next_token_bitmask(bitmask, i)
            self._patch(bitmask[i], st)
            self._fresh[i] = True
        return bitmask[i]

    def _patch(self, row: Any, st: EngineStepper) -> None:
        if not (st.finished or self.whitelist):
            return
        if st.finished:  # ended by a whitelisted EOS while the structure was still open
            row[:] = 0
            set_token_bits(row, list(self._eos))
        if self.whitelist:
            set_token_bits(row, sorted(self.whitelist))

    # --- tokens a framework chose --------------------------------------------------------------

    def sync(self, input_ids: Any, batch: int) -> None:
        """Advance every row by the tokens ``input_ids`` holds beyond what it has seen. The first
        call records the prompt; ids that do not extend the known ones start a new generation."""
        steppers = self.steppers
        if batch == 1 and len(steppers) == 1 and isinstance(input_ids, np.ndarray):
            st = steppers[0]  # the usual step: one row, nothing new since the last call
            if (
                input_ids.ndim == 1
                and st.start is not None
                and input_ids.shape[0] == st.start + len(st.token_ids)
            ):
                return
        rows = input_id_rows(input_ids, batch)
        if rows is None:
            return
        if len(rows) != len(self.steppers):
            raise ConfigurationError(
                f"input_ids has {len(rows)} row(s) but this generation has {len(self.steppers)}."
            )
        for i, (st, ids) in enumerate(zip(self.steppers, rows, strict=True)):
            n = int(ids.shape[0])
            if st.start is None:
                _start(st, ids)
                continue
            known = st.start + len(st.token_ids)
            if n == known:
                continue
            last = st.token_ids[-1] if st.token_ids else st.anchor
            if n < known or (known > 0 and int(ids[known - 1]) != last):
                self._restart(rows)
                return
            for t in ids[known:].tolist():
                self._feed(i, st, t)

    def _restart(self, rows: list[Any]) -> None:
        assert self.handle is not None
        steppers = [EngineStepper(self.handle.fresh(), self._visible) for _ in rows]
        for st, ids in zip(steppers, rows, strict=True):
            _start(st, ids)
        self.set_steppers(steppers)
        self.ensure(ScoresInfo("numpy", len(rows), self._info.logits_width, False), "sync")

    def _feed(self, i: int, st: EngineStepper, t: int) -> None:
        """A token the framework chose: it must be valid (it was sampled from masked scores)."""
        if st.finished:
            st.push(t)  # padding after the row ended
            return
        if not self.accept(i, t):
            what = repr(self._info.token_bytes[t]) if 0 <= t < self._vocab else "out of range"
            raise ConstraintError(
                f"token {t} ({what}) after {len(st.token_ids)} generated tokens is not allowed by "
                "the structure. Put the engine's processor last in the logits-processor list, and "
                "call engine.reset() (or create a new processor) before another generation."
            )

    # --- tokens the engine chooses -------------------------------------------------------------

    def accept(self, i: int, t: int) -> bool:
        """Advance row ``i`` by token ``t`` if the structure (or the whitelist) allows it."""
        if not 0 <= t < self._vocab:
            return False
        st = self.steppers[i]
        if t in self._eos or t in self.whitelist:
            return self._accept_control(i, st, t)
        # allowed by the row's fresh mask: no trial needed. Otherwise a trial: the mask offers
        # only the canonical tokenization of forced text, the matcher takes any byte-valid one.
        if self._fresh[i] and (self._bits.item(i, t >> 5) >> (t & 31)) & 1:
            st.consume(t)
        elif not st.inner.accept_token(t):
            return False
        st.token_ids.append(t)
        self._fresh[i] = False
        return True

    def _accept_control(self, i: int, st: EngineStepper, t: int) -> bool:
        """A whitelisted control token passes without advancing the structure; an EOS (allowed
        once the structure accepts, or whitelisted) ends the row."""
        if t not in self.whitelist and not st.inner.accept_token(t):
            return False
        st.push(t)
        if t in self._eos:
            st.finished = True
        self._fresh[i] = False
        return True

    def choose(
        self,
        i: int,
        t: int,
        logprobs: Any,
        info: ScoresInfo,
        sampler: Callable[..., Any],
        attempts: int,
    ) -> int:
        """Accept the sampled ``t``, or resample (up to ``attempts`` times, the rejected tokens
        masked), or take the best valid token of ``logprobs``; returns the accepted token."""
        banned: list[int] = []
        for attempt in range(attempts + 1):
            if self.accept(i, t):
                return t
            banned.append(t)
            if attempt == attempts:
                break
            t = read_token_ids(sampler(row_for_sampler(logprobs, info, i, banned)), 1)[0]
        values = numpy_row(logprobs, info, i)
        apply_bitmask(values, self.row_mask(i), self._vocab)
        st = self.steppers[i]
        if not np.isfinite(values).any():
            raise ConstraintError(
                "sample: no token allowed by the structure has a finite score "
                f"({st.matcher.get_error() or 'the scores mask out every valid token'})."
            )
        best = int(np.argmax(values))
        if not self.accept(i, best):
            raise ConstraintError(
                f"sample: the matcher refused token {best} that its own mask allowed "
                f"({st.matcher.get_error() or 'no error reported'})."
            )
        return best

    def extend(self, i: int, tokens: Sequence[int]) -> list[int]:
        """Accept ``tokens`` after the sampled one as far as the structure allows."""
        out = []
        for t in tokens:
            if t in self.whitelist or not self.accept(i, t):
                break
            out.append(t)
        return out

    def forced(self, i: int) -> list[int]:
        """Accept and return the tokens the grammar forces next (never an EOS): llguidance's
        forced tokens, then its forced bytes tokenized (the tail it leaves out), while either
        progresses (:func:`~instructor_py.engine.forcing.forced_tokens`)."""

        def accept(tokens: list[int]) -> bool:
            return all(self.accept(i, t) for t in tokens)

        return forced_tokens(
            self.steppers[i].matcher,
            end_tokens=self._eos,
            tokenize=self._info.tokenize,
            accept=accept,
        )


def _start(st: EngineStepper, ids: Any) -> None:
    """Record the prompt: the ids before the tokens the row already produced (through
    ``sample``, before the first call with ids)."""
    start = max(0, int(ids.shape[0]) - len(st.token_ids))
    st.start = start
    st.anchor = int(ids[start - 1]) if start else None
