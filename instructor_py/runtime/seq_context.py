"""A llama.cpp context holding many sequences at once (the KV cache of the continuous batch).

The :class:`~instructor_py.runtime.scheduler.DecodeScheduler` decodes concurrent requests in one
``llama_decode`` per step; each request owns a sequence id of this context. The context has one
**unified** pool of ``n_cells`` KV cells that every sequence draws from, and a copied prefix
(``llama_memory_seq_cp``) costs no cells: the cells of a shared system prompt simply belong to
several sequences.

**Why the pool is append-only.** llama.cpp's attention visits a sequence's cells in the order they
lie in the pool, and the result depends on that order: a token placed in a freed cell *before* its
own prompt's cells gets logits up to ~0.8 apart from the same token placed after them (measured on
the embedded model; the f16 accumulator rounds differently). A request's greedy answer would then
depend on what other requests did before it. So cells are never freed while the pool is in use:

- a new request takes a sequence id not used since the pool was last cleared (an *epoch*), and
  copies the longest prefix of its prompt that any sequence of the epoch holds (busy or idle);
- refused prompt-lookup drafts are moved to a trash sequence nobody attends to instead of freed;
- a request that left keeps its cells as an idle cache for later prompts.

Every sequence's cells therefore lie in position order, wherever its request ran. The
:class:`~instructor_py.runtime.scheduler.DecodeScheduler` admits requests while their cells fit, and
clears the pool (:meth:`SequenceContext.clear`) once its rows have finished. V is stored in q8_0
while K stays f16: llama.cpp's CPU flash attention then always takes its per-query kernel (the
tiled kernel for 64+ queries and the split-cells kernel for a lone query both need K and V of one
f16/f32 type) and accumulates in f32. Models with a sliding window or a recurrent state prune
or overwrite cells themselves; for them no prefix is shared and the order argument does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import LocalModelError
from instructor_py.runtime.llama_batch import LlamaBatch

if TYPE_CHECKING:
    from instructor_py.runtime.model import LocalModel

__all__ = ["DecodeEntry", "SequenceContext", "common_prefix"]

KV_FULL = 1  # llama_decode's "no memory slot for the batch" (nothing was changed)
FLASH_ATTN_ENABLED = 1  # llama_flash_attn_type
GGML_TYPE_Q8_0 = 8
# Sequence ids an epoch can hand out: llama.cpp's LLAMA_MAX_SEQ, at most n_batch (llama.cpp
# keeps an output row per sequence). The last one is the trash: it holds the cells of refused
# drafts and retired sequences.
MAX_SEQ_IDS = 256
_FREE, _BUSY, _IDLE = 0, 1, 2
# llama.cpp splits a step into micro-batches of at most this many tokens. With flash attention
# on the per-query kernel (see above) a token's logits do not depend on the other tokens of its
# pass (bit for bit, tests/runtime/test_batching.py); a prompt is evaluated no slower in pieces of
# 32 than of 512 on these CPUs.
MICRO_BATCH = 32


@dataclass(frozen=True, slots=True)
class DecodeEntry:
    """Tokens appended to sequence ``seq`` by one forward pass; the logits of the last
    ``n_logits`` of them are kept (in batch order)."""

    seq: int
    tokens: Sequence[int]
    n_logits: int


class SequenceContext:
    """The KV pool of up to ``n_seq`` concurrent requests: ``n_cells`` cells of the model's weights."""

    def __init__(self, model: LocalModel, n_seq: int, n_cells: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._llama_cpp: Any = llama_cpp
        llama = model.llama
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        self.n_ids = min(MAX_SEQ_IDS, int(params.n_batch), n_cells)
        self.trash = self.n_ids - 1
        params.n_seq_max = self.n_ids
        params.n_ctx = n_cells
        params.kv_unified = True
        params.flash_attn_type = FLASH_ATTN_ENABLED
        params.n_ubatch = min(int(params.n_batch), MICRO_BATCH)
        params.type_v = GGML_TYPE_Q8_0
        try:
            self._owner: Any = _internals.LlamaContext(
                model=llama._model, params=params, verbose=False
            )
        except ValueError as exc:
            raise LocalModelError(
                f"could not create a context of {n_cells} KV cells for {n_seq} concurrent "
                f"requests ({exc}); lower n_parallel or n_ctx_parallel"
            ) from exc
        self.ctx: Any = self._owner.ctx
        self._memory: Any = llama_cpp.llama_get_memory(self.ctx)
        raw_model = llama._model.model
        # a recurrent state or a sliding window cannot keep an arbitrary prefix of a sequence
        self.share_prefixes = not (
            llama_cpp.llama_model_is_recurrent(raw_model)
            or llama_cpp.llama_model_is_hybrid(raw_model)
            or llama_cpp.llama_model_n_swa(raw_model) > 0
        )
        self.n_cells = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx))  # llama.cpp caps it at n_cells
        self.n_vocab = model.n_vocab
        self._batch = LlamaBatch(self.n_batch)
        self._slot_seq = [-1] * self.n_batch  # which seq id each batch slot holds now
        self.tokens: list[list[int]] = []
        self._state: list[int] = []
        self.cells_used = 0  # cells taken since the last clear (none is freed before it)
        self._forget()
        self.clears = 0

    # --- sequences ------------------------------------------------------------------------------

    @property
    def free_cells(self) -> int:
        return self.n_cells - self.cells_used

    @property
    def free_ids(self) -> int:
        """Sequence ids a new request can still take before the pool is cleared."""
        return self._state.count(_FREE)

    def _lenders(self) -> list[int]:
        """Sequences whose prefix a new request may copy."""
        if not self.share_prefixes:
            return []
        return [s for s in range(self.n_ids) if s != self.trash and self.tokens[s]]

    def longest_prefix(self, tokens: Sequence[int]) -> tuple[int, int]:
        """The sequence holding the longest prefix of ``tokens`` (at most all but the last
        token) and its length; ``(-1, 0)`` when none holds any."""
        limit = len(tokens) - 1
        best, best_len = -1, 0
        for s in self._lenders():
            n = common_prefix(self.tokens[s], tokens, limit)
            if n > best_len:
                best, best_len = s, n
        return best, best_len

    def acquire(
        self, tokens: Sequence[int], prefix: tuple[int, int] | None = None
    ) -> tuple[int, int]:
        """A fresh sequence for a request whose KV must end up holding ``tokens``, and how many of
        them it holds already (the prefix copied from another sequence; at least one token is
        left to evaluate, for its logits). ``prefix`` is :meth:`longest_prefix`'s answer when the
        caller has it. Needs :attr:`free_ids` > 0."""
        seq = self._state.index(_FREE)  # ValueError when none is left: the scheduler checks
        best, best_len = self.longest_prefix(tokens) if prefix is None else prefix
        self._state[seq] = _BUSY
        if best >= 0:
            self._llama_cpp.llama_memory_seq_cp(self._memory, best, seq, 0, best_len)
            self.tokens[seq] = list(self.tokens[best][:best_len])
        return seq, best_len

    def release(self, seq: int) -> None:
        """The request left: its KV stays as an idle cache for later prompts of the epoch."""
        self._state[seq] = _IDLE

    def truncate(self, seq: int, keep: int) -> None:
        """Drop the tokens of ``seq`` from position ``keep`` on; their cells go to the trash
        sequence (still taken, never attended), so no cell is freed."""
        held = self.tokens[seq]
        if keep >= len(held):
            return
        lc = self._llama_cpp
        if self.share_prefixes:
            lc.llama_memory_seq_cp(self._memory, seq, self.trash, keep, -1)
        if not lc.llama_memory_seq_rm(self._memory, seq, keep, -1):
            raise LocalModelError("this model's memory cannot drop a suffix of a sequence")
        del held[keep:]

    def retire(self, seq: int) -> None:
        """A failed or restarted request's sequence: its cells go to the trash."""
        self.truncate(seq, 0)
        self._state[seq] = _IDLE

    def clear(self) -> None:
        """Free every cell and sequence id (no request holds one)."""
        self._llama_cpp.llama_memory_clear(self._memory, True)
        self._forget()
        self.clears += 1

    def _forget(self) -> None:
        """The bookkeeping of an empty pool: no tokens held, every id free but the trash's."""
        self.tokens = [[] for _ in range(self.n_ids)]
        self._state = [_FREE] * self.n_ids
        self._state[self.trash] = _BUSY
        self.cells_used = 0

    # --- the forward pass -----------------------------------------------------------------------

    def decode(self, entries: Sequence[DecodeEntry]) -> tuple[int, npt.NDArray[np.float32] | None]:
        """One ``llama_decode`` over every entry. Returns ``(rc, logits)``: on success (rc 0) the
        logits rows that were asked for, in entry order ([n, n_vocab], a view on llama.cpp's
        buffer, valid until the next pass); rc 1 means the KV cells ran out (nothing changed)."""
        n = 0
        n_out = 0
        lc = self._llama_cpp
        batch = self._batch
        for e in entries:
            k = len(e.tokens)
            start = len(self.tokens[e.seq])
            batch.token[n : n + k] = e.tokens
            batch.pos[n : n + k] = np.arange(start, start + k, dtype=np.int32)
            batch.logits[n : n + k] = 0
            if e.n_logits:
                batch.logits[n + k - e.n_logits : n + k] = 1
                n_out += e.n_logits
            for i in range(n, n + k):
                if self._slot_seq[i] != e.seq:
                    batch.seq_ids[i][0] = e.seq
                    self._slot_seq[i] = e.seq
            n += k
        if n == 0:
            return 0, None
        if n > self.n_batch:
            raise LocalModelError(
                f"a step of {n} tokens exceeds n_batch={self.n_batch} (scheduler bug)"
            )
        batch.n_tokens = n
        rc = int(lc.llama_decode(self.ctx, batch.batch))
        if rc != 0:
            return rc, None
        self.cells_used += n
        for e in entries:
            self.tokens[e.seq].extend(e.tokens)
        if n_out == 0:
            return 0, None
        ptr = lc.llama_get_logits(self.ctx)
        logits: npt.NDArray[np.float32] = np.ctypeslib.as_array(ptr, shape=(n_out, self.n_vocab))
        return 0, logits


def common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    if n <= 0 or a[0] != b[0]:
        return 0
    # compare in blocks (Python-level loops over thousands of tokens per admission add up)
    i = 0
    step = 64
    while i < n:
        j = min(n, i + step)
        if a[i:j] != b[i:j]:
            while a[i] == b[i]:
                i += 1
            return i
        i = j
    return n
