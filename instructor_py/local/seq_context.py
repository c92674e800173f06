"""A llama.cpp context holding many sequences at once (the KV cache of the continuous batch).

The :class:`~instructor_py.local.scheduler.DecodeScheduler` decodes concurrent requests in one
``llama_decode`` per step; each request owns a sequence id of this context. The context is
created from the model's weights with ``n_seq_max`` sequences and a **unified** KV cache: every
sequence draws its cells from one pool of ``n_cells``, so a short request leaves room for a long
one, and a copied prefix (``llama_memory_seq_cp``) costs no cells at all: the cells of a shared
system prompt simply belong to several sequences. Flash attention is on and llama.cpp's
micro-batches are small (:data:`MICRO_BATCH`): that makes a token's logits independent of the
company it is evaluated in.

:class:`SequenceContext` remembers which tokens each sequence holds (positions ``0..n-1``), also
after its request left (an *idle* sequence): a new prompt reuses the longest common prefix found in
any sequence, by taking over an idle sequence or copying the prefix of a busy one. Idle sequences
are dropped, least recently used first, when the cells run out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from instructor_py.errors import LocalModelError

if TYPE_CHECKING:
    from instructor_py.local.model import LocalModel

__all__ = ["DecodeEntry", "SequenceContext"]

KV_FULL = 1  # llama_decode's "no memory slot for the batch" (nothing was changed)
FLASH_ATTN_ENABLED = 1  # llama_flash_attn_type
# llama.cpp splits a step into micro-batches of at most this many tokens. Measured on the CPU
# backend: with flash attention and micro-batches under 64 tokens, a token's logits do not
# depend on the other tokens of its pass nor on where its KV cells lie (bit for bit); larger
# micro-batches take another kernel path whose logits differ by up to ~1 (and the cache layout
# moves the logits without flash attention). So a request's greedy answer is the same alone
# and in any batch.
MICRO_BATCH = 32


@dataclass(frozen=True, slots=True)
class DecodeEntry:
    """Tokens appended to sequence ``seq`` by one forward pass; the logits of the last
    ``n_logits`` of them are kept (in batch order)."""

    seq: int
    tokens: Sequence[int]
    n_logits: int


class SequenceContext:
    """``n_seq`` sequences over ``n_cells`` KV cells of the model's weights."""

    def __init__(self, model: LocalModel, n_seq: int, n_cells: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._llama_cpp: Any = llama_cpp
        llama = model.llama
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_seq_max = n_seq
        params.n_ctx = n_cells
        params.kv_unified = True
        params.flash_attn_type = FLASH_ATTN_ENABLED
        params.n_ubatch = min(int(params.n_batch), MICRO_BATCH)
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
        self.n_seq = n_seq
        self.n_cells = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx))  # llama.cpp caps it at n_cells
        self.n_vocab = model.n_vocab
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        b = self._batch
        self._tok = np.ctypeslib.as_array(b.token, shape=(self.n_batch,))
        self._pos = np.ctypeslib.as_array(b.pos, shape=(self.n_batch,))
        self._want = np.ctypeslib.as_array(b.logits, shape=(self.n_batch,))
        np.ctypeslib.as_array(b.n_seq_id, shape=(self.n_batch,))[:] = 1
        self._seq_ptrs = [b.seq_id[i] for i in range(self.n_batch)]
        self._slot_seq = [-1] * self.n_batch  # which seq id each batch slot holds now
        self.tokens: list[list[int]] = [[] for _ in range(n_seq)]
        self._busy = [False] * n_seq
        self._last_used = [0.0] * n_seq
        self.forward_passes = 0

    def __del__(self) -> None:
        batch = getattr(self, "_batch", None)
        if batch is not None:
            self._llama_cpp.llama_batch_free(batch)
            self._batch = None

    # --- sequences ------------------------------------------------------------------------------

    @property
    def free_sequences(self) -> int:
        return self._busy.count(False)

    def acquire(self, tokens: Sequence[int]) -> tuple[int, int]:
        """A free sequence for a request whose KV must end up holding ``tokens``, and how many of
        them it holds already (the reused prefix; always at least one token is left to evaluate,
        for its logits)."""
        free = [s for s in range(self.n_seq) if not self._busy[s]]
        if not free:
            raise LocalModelError("no free sequence in the batch context (scheduler bug)")
        limit = len(tokens) - 1
        best, best_len = -1, 0
        # a busy sequence can only lend its prefix by a copy (not for recurrent/windowed memory)
        for s in range(self.n_seq) if self.share_prefixes else free:
            n = _common_prefix(self.tokens[s], tokens, limit)
            if n > best_len or (n == best_len and n > 0 and not self._busy[s]):
                best, best_len = s, n
        if best >= 0 and not self._busy[best]:
            seq = best
            kept = self.truncate(seq, best_len)
        else:
            seq = min(free, key=lambda s: (len(self.tokens[s]) > 0, self._last_used[s]))
            self.drop(seq)
            kept = 0
            if best >= 0:
                self._llama_cpp.llama_memory_seq_cp(self._memory, best, seq, 0, best_len)
                self.tokens[seq] = list(self.tokens[best][:best_len])
                kept = best_len
        self._busy[seq] = True
        return seq, kept

    def release(self, seq: int) -> None:
        """The request left: its KV stays as an idle cache for later prompts."""
        self._busy[seq] = False
        self._last_used[seq] = time.monotonic()

    def truncate(self, seq: int, keep: int) -> int:
        """Drop the tokens of ``seq`` from position ``keep`` on; returns how many remain."""
        held = self.tokens[seq]
        if keep >= len(held):
            return len(held)
        if self._llama_cpp.llama_memory_seq_rm(self._memory, seq, keep, -1):
            del held[keep:]
            return keep
        self.drop(seq)  # this memory cannot drop a suffix
        return 0

    def drop(self, seq: int) -> None:
        self._llama_cpp.llama_memory_seq_rm(self._memory, seq, 0, -1)
        self.tokens[seq] = []

    def drop_idle(self) -> int:
        """Free the cells of every idle sequence; returns how many held tokens."""
        dropped = 0
        for s in range(self.n_seq):
            if not self._busy[s] and self.tokens[s]:
                self.drop(s)
                dropped += 1
        return dropped

    def clear(self) -> None:
        self._llama_cpp.llama_memory_clear(self._memory, True)
        self.tokens = [[] for _ in range(self.n_seq)]

    # --- the forward pass -----------------------------------------------------------------------

    def decode(self, entries: Sequence[DecodeEntry]) -> tuple[int, npt.NDArray[np.float32] | None]:
        """One ``llama_decode`` over every entry. Returns ``(rc, logits)``: on success (rc 0) the
        logits rows that were asked for, in entry order ([n, n_vocab], a view on llama.cpp's
        buffer, valid until the next pass); rc 1 means the KV cells ran out (nothing changed)."""
        n = 0
        n_out = 0
        lc = self._llama_cpp
        for e in entries:
            k = len(e.tokens)
            start = len(self.tokens[e.seq])
            self._tok[n : n + k] = e.tokens
            self._pos[n : n + k] = np.arange(start, start + k, dtype=np.int32)
            self._want[n : n + k] = 0
            if e.n_logits:
                self._want[n + k - e.n_logits : n + k] = 1
                n_out += e.n_logits
            for i in range(n, n + k):
                if self._slot_seq[i] != e.seq:
                    self._seq_ptrs[i][0] = e.seq
                    self._slot_seq[i] = e.seq
            n += k
        if n == 0:
            return 0, None
        if n > self.n_batch:
            raise LocalModelError(
                f"a step of {n} tokens exceeds n_batch={self.n_batch} (scheduler bug)"
            )
        self._batch.n_tokens = n
        rc = int(lc.llama_decode(self.ctx, self._batch))
        if rc != 0:
            return rc, None
        self.forward_passes += 1
        for e in entries:
            self.tokens[e.seq].extend(e.tokens)
        if n_out == 0:
            return 0, None
        ptr = lc.llama_get_logits(self.ctx)
        logits: npt.NDArray[np.float32] = np.ctypeslib.as_array(ptr, shape=(n_out, self.n_vocab))
        return 0, logits


def _common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
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
