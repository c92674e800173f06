"""Continuous batching: the concurrent requests on one model decoded together.

:class:`DecodeScheduler` (one per :class:`~instructor_py.runtime.model.LocalModel`, held by its
runtime session: ``session_for(model).scheduler``) owns a
:class:`~instructor_py.runtime.seq_context.SequenceContext` and runs the step loop in one worker
thread. A request (:meth:`DecodeScheduler.generate`, called from any
thread) becomes a :class:`~instructor_py.runtime.decode_row.DecodeRow`; it joins at the next step
and leaves when it is done. Per step:

1. cancelled rows leave; waiting rows join (up to ``n_parallel``), each on a sequence that
   already holds the longest prefix of its prompt found in the context (an earlier request's, or a
   copy of a concurrent one's: a shared system prompt is evaluated once);
2. one ``llama_decode`` evaluates every row's new tokens: a sampled token and the tokens the
   grammar forced after it, a piece of a new prompt (decoding rows first, prompts fill the rest
   of ``n_batch``), and prompt-lookup drafts;
3. every row chooses its next token from its own logits row (sample first); the rows whose pick the
   grammar refused get their masks filled together (:class:`~instructor_py.engine.batch.BatchProcessor`,
   llguidance's parallel executor), position after position while drafts are kept;
4. refused drafts are dropped from the KV cache (``llama_memory_seq_rm``).

The pool of KV cells is append-only between clears (see :mod:`~instructor_py.runtime.seq_context`:
that is what keeps a request's answer independent of its company). A request is admitted while
its prompt and an answer budget fit in the cells left; when the next one does not fit, no one is
admitted until the running rows finish, then the pool is cleared. If the rows outgrow the cells
anyway (answers longer than the budget), the pool is cleared at once and every running row is
evaluated again from its prompt and output so far (nothing is lost, and the answer is unchanged).
An error in one row (a constraint that allows nothing) ends that request only; a failed forward
pass ends the requests in it. A consumer that stops iterating frees its row at the next step.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING

from instructor_py.common.errors import ContextOverflowError, LocalModelError
from instructor_py.engine.batch import BatchProcessor
from instructor_py.runtime.decode_row import DecodeRow
from instructor_py.runtime.generation import (
    DecodeChunk,
    DecodeOptions,
    DecodeStats,
    check_generation,
)
from instructor_py.runtime.lookup import PromptLookup
from instructor_py.runtime.seq_context import (
    KV_FULL,
    DecodeEntry,
    SequenceContext,
    common_prefix,
)

if TYPE_CHECKING:
    from instructor_py.engine.handle import CompiledGrammarHandle
    from instructor_py.runtime.model import LocalModel

__all__ = ["DEFAULT_DRAFT_STEP_TOKENS", "DecodeScheduler"]

# Drafts are added while a step holds fewer tokens than this: a forward pass over a few tokens
# costs little more than over one, but a full batch is already compute-bound.
DEFAULT_DRAFT_STEP_TOKENS = 8
# A request waits a step for a concurrent request's prompt pass when they share at least this
# many leading tokens (a system prompt), so that prefix is evaluated once and copied.
MIN_SHARED_PREFIX = 16


class DecodeScheduler:
    """The continuous batch of one model: ``n_parallel`` sequences over ``n_cells`` KV cells."""

    def __init__(
        self,
        model: LocalModel,
        n_parallel: int,
        n_cells: int,
        *,
        draft_step_tokens: int = DEFAULT_DRAFT_STEP_TOKENS,
    ) -> None:
        self.model = model
        self.n_parallel = n_parallel
        self.n_cells = n_cells
        self.draft_step_tokens = draft_step_tokens
        self._cond = threading.Condition()
        self._incoming: list[DecodeRow] = []
        self._worker: threading.Thread | None = None
        self._ctx: SequenceContext | None = None
        self._processor: BatchProcessor | None = None
        self._active: list[DecodeRow] = []
        self._waiting: deque[DecodeRow] = deque()
        self.totals = DecodeStats()
        self.steps = 0
        self.max_rows_seen = 0
        self.restarts = 0  # the rows outgrew the cells: the pool was cleared under them

    @property
    def active_rows(self) -> int:
        """Requests decoding now (admitted to a sequence), plus those waiting to join."""
        with self._cond:
            return len(self._active) + len(self._waiting) + len(self._incoming)

    def clear_cache(self) -> bool:
        """Drop the prompts cached in the batch context (its KV cells) when no request is
        running; returns False, changing nothing, while one is."""
        with self._cond:
            if self._worker is not None or self._incoming:
                return False
            if self._ctx is not None:
                self._ctx.clear()
            return True

    # --- the request side -----------------------------------------------------------------------

    def generate(
        self,
        prompt: Sequence[int],
        handle: CompiledGrammarHandle | None = None,
        options: DecodeOptions | None = None,
    ) -> Generator[DecodeChunk, None, None]:
        """Generate after ``prompt`` in the batch under ``handle`` (None: unconstrained); yields
        chunks as :meth:`LlamaDecoder.generate
        <instructor_py.runtime.decoder.LlamaDecoder.generate>` does. With ``options.prompt_text``
        (the rendered prompt) and ``options.draft_tokens > 0``, prompt-lookup drafting is on.
        Closing the iterator early cancels the request."""
        model = self.model
        opts = options or DecodeOptions()
        check_generation(prompt, model.n_ctx, opts.max_tokens)
        lookup = (
            PromptLookup(opts.prompt_text, model.tokenize_bytes, max_tokens=opts.draft_tokens)
            if opts.prompt_text and opts.draft_tokens > 0
            else None
        )
        return self._consume(DecodeRow(model, prompt, handle, opts, lookup))

    def _consume(self, row: DecodeRow) -> Generator[DecodeChunk, None, None]:
        with self._cond:
            self._incoming.append(row)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="instructor_py-local-batch", daemon=True
                )
                self._worker.start()
            self._cond.notify()
        done = False
        try:
            while True:
                item = row.outbox.get()
                if isinstance(item, BaseException):
                    done = True
                    raise item
                if item.finish_reason is not None:
                    done = True
                yield item
                if done:
                    return
        finally:
            if not done:
                row.cancelled = True  # the worker frees the row at its next step

    # --- the worker -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._waiting.extend(self._incoming)
                self._incoming.clear()
                if not self._active and not self._waiting:
                    self._worker = None
                    return
            try:
                self._step()
            except BaseException as exc:  # handed to every request in the step
                for row in [*self._active, *self._waiting]:
                    row.fail(exc)
                self._active.clear()
                self._waiting.clear()
                if self._ctx is not None:
                    self._ctx.clear()

    def _context(self) -> tuple[SequenceContext, BatchProcessor]:
        if self._ctx is None or self._processor is None:
            self._ctx = SequenceContext(self.model, self.n_parallel, self.n_cells)
            # one mask row per sequence id (only the rows that need a mask are filled)
            self._processor = BatchProcessor(
                self.model.orchestrator, self._ctx.n_ids, vocab_size=self.model.n_vocab
            )
        return self._ctx, self._processor

    def _leave(self, row: DecodeRow) -> None:
        ctx, processor = self._context()
        if row.seq is not None:
            if row.failed:
                ctx.retire(row.seq)
            else:  # done or cancelled: its cells stay as a cache for later prompts
                ctx.release(row.seq)
            processor.set_constraint(row.seq, None)
            row.seq = None
        self.totals.add(row.stats)

    def _admit(self) -> None:
        ctx, processor = self._context()
        for row in [r for r in self._waiting if r.cancelled]:
            self._waiting.remove(row)
        deferred: list[DecodeRow] = []
        while self._waiting and len(self._active) < self.n_parallel:
            row = self._waiting[0]
            try:
                if not row.started:
                    row.start()
                if row.finished:
                    self._waiting.popleft()
                    continue
                tokens = row.tokens
                prefix = ctx.longest_prefix(tokens)
                if self._shares_pending_prefix(ctx, tokens, prefix[1]):
                    deferred.append(self._waiting.popleft())  # copies that prefix once it is in
                    continue
                if not self._fits(ctx, row, tokens, prefix[1]):
                    if self._active or deferred:
                        break  # drain: the running rows finish, then the pool is cleared
                    ctx.clear()
                    prefix = (-1, 0)
                    if len(tokens) > ctx.n_cells:
                        raise ContextOverflowError(
                            f"the request needs {len(tokens)} KV cells but the batch context "
                            f"holds {ctx.n_cells}; load the model with a larger n_ctx_parallel"
                        )
                seq, kept = ctx.acquire(tokens, prefix)
                row.seq = seq
                processor.set_constraint(seq, row.handle)
            except Exception as exc:  # this request's error, not the batch's
                self._waiting.popleft()
                if row.seq is not None:
                    ctx.retire(row.seq)
                    row.seq = None
                row.fail(exc)
                continue
            self._waiting.popleft()
            if not row.prompt_done:
                row.stats.reused_tokens = min(kept, len(row.prompt))
            row.feed = tokens[kept:]
            row.reserved = len(row.feed) + row.answer_reserve()
            row.consumed = 0
            self._active.append(row)
        self._waiting.extendleft(reversed(deferred))
        self.max_rows_seen = max(self.max_rows_seen, len(self._active))

    def _fits(
        self, ctx: SequenceContext, row: DecodeRow, tokens: Sequence[int], cached: int
    ) -> bool:
        """Whether ``row``'s new prompt tokens (beyond the ``cached`` prefix) and answer budget
        fit in the cells left, after the budgets of the running rows."""
        if ctx.free_ids == 0:
            return False
        held = sum(max(0, r.reserved - r.consumed) for r in self._active)
        need = len(tokens) - cached + row.answer_reserve()
        return ctx.free_cells - held >= need

    def _shares_pending_prefix(
        self, ctx: SequenceContext, tokens: Sequence[int], cached: int
    ) -> bool:
        """True when an admitted row whose prompt is not evaluated yet shares a longer prefix
        with ``tokens`` (by :data:`MIN_SHARED_PREFIX` tokens or more) than the ``cached`` one: a
        request arriving in the same step as others with the same system prompt waits for the
        first one's prompt pass and copies it, instead of evaluating it again."""
        if not ctx.share_prefixes:
            return False
        pending = 0
        for other in self._active:
            if other.seq is not None and other.feed:
                pending = max(pending, common_prefix(other.tokens, tokens, len(tokens) - 1))
        if pending < MIN_SHARED_PREFIX:
            return False
        return pending >= cached + MIN_SHARED_PREFIX

    def _step(self) -> None:
        ctx, _ = self._context()
        for row in [r for r in self._active if r.cancelled or r.finished]:
            self._active.remove(row)
            self._leave(row)
        self._admit()
        if not self._active:
            return
        entries, staged = self._stage(ctx)
        t0 = time.perf_counter()
        rc, logits = ctx.decode(entries)
        if rc == KV_FULL:
            self._restart(ctx)
            return
        seconds = time.perf_counter() - t0
        if rc != 0:
            for row, _ in staged:
                row.fail(LocalModelError(f"llama_decode failed with code {rc}"))
            return
        self.steps += 1
        ready: list[DecodeRow] = []
        at = 0
        for row, n_feed in staged:
            n_logits = 1 + len(row.drafts)
            if row.evaluated(n_feed, seconds):
                assert logits is not None
                row.begin([logits[at + i] for i in range(n_logits)])
                at += n_logits
                ready.append(row)
        self._choose(ready)
        for row in ready:
            if row.rollback and row.seq is not None:
                ctx.truncate(row.seq, len(ctx.tokens[row.seq]) - row.rollback)
                row.rollback = 0

    def _stage(self, ctx: SequenceContext) -> tuple[list[DecodeEntry], list[tuple[DecodeRow, int]]]:
        """This step's batch: decoding rows first (short feeds), then pieces of prompts."""
        room = ctx.n_batch
        used = 0
        entries: list[DecodeEntry] = []
        staged: list[tuple[DecodeRow, int]] = []
        n_rows = len(self._active)
        for row in sorted(self._active, key=lambda r: len(r.feed)):
            if room - used <= 0:
                break
            assert row.seq is not None
            draft = n_rows + used < self.draft_step_tokens
            n = row.stage(room - used, draft)
            complete = n == len(row.feed)
            tokens = row.feed[:n] + row.drafts
            entries.append(DecodeEntry(row.seq, tokens, 1 + len(row.drafts) if complete else 0))
            staged.append((row, n))
            used += len(tokens)
        return entries, staged

    def _restart(self, ctx: SequenceContext) -> None:
        """The running rows outgrew the cells: clear the pool and admit them again (in order),
        each to be evaluated from its prompt and output so far."""
        rows = self._active
        self._active = []
        _, processor = self._context()
        for row in rows:
            row.drafts = []
            if row.seq is not None:
                processor.set_constraint(row.seq, None)
                row.seq = None
        ctx.clear()
        self._waiting.extendleft(reversed(rows))
        self.restarts += 1
        if len(rows) == 1 and len(rows[0].tokens) >= ctx.n_cells:
            row = self._waiting.popleft()
            self.totals.add(row.stats)
            row.fail(
                ContextOverflowError(
                    f"the request needs more KV cells than the batch context holds "
                    f"({ctx.n_cells}); load the model with a larger n_ctx_parallel"
                )
            )

    def _choose(self, ready: list[DecodeRow]) -> None:
        """Every ready row picks its next token; masks of the rows that need one are filled
        together, position after position while drafts are kept."""
        _, processor = self._context()
        rows = ready
        while rows:
            need: list[DecodeRow] = []
            for row in rows:
                try:
                    if row.propose():
                        need.append(row)
                except Exception as exc:
                    row.fail(exc)
            if need:
                self._fill_masks(processor, need)
            going: list[DecodeRow] = []
            for row in rows:
                if row.finished:
                    continue
                try:
                    if row in need:
                        assert row.seq is not None
                        row.propose_masked(processor.bitmask[row.seq])
                    if row.advance():
                        going.append(row)
                except Exception as exc:
                    row.fail(exc)
            rows = going

    def _fill_masks(self, processor: BatchProcessor, rows: list[DecodeRow]) -> None:
        seqs = [r.seq for r in rows if r.seq is not None]
        try:
            processor.fill_bitmask(seqs)
        except Exception:  # find the row at fault; the others go on
            for row in rows:
                try:
                    assert row.seq is not None
                    processor.fill_bitmask([row.seq])
                except Exception as exc:
                    row.fail(exc)
