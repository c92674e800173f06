"""Scoring candidate continuations: the model's log-probability of each whole option after a prompt.

``score_continuations(session, prompt, options)`` returns, for each option (a token sequence), the
sum of the log-probabilities of its tokens as a continuation of ``prompt``: ``log p(t1 | prompt) +
log p(t2 | prompt, t1) + ...``. This is how a choice is read from a model as a whole value (not by
its first token, where options that share a prefix, or the first one listed, win by default).

The prompt is evaluated once, through the session's one-sequence decoder (so its KV cache, and
any prefix it already holds, is reused); each option's tokens but the last are then evaluated
after it, one option at a time, with logits kept for every position, and removed from the cache
again. The decoder's record of what its cache holds stays true: the cache ends holding exactly
``prompt``. Runs behind the model's lock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ContextOverflowError, LocalModelError
from instructor_py.runtime.llama_batch import LlamaBatch

if TYPE_CHECKING:
    from instructor_py.runtime.session import LocalSession

__all__ = ["ContinuationScores", "log_softmax", "score_continuations"]


@dataclass(frozen=True, slots=True)
class ContinuationScores:
    """``logprobs[i]``: the summed log-probability of option ``i``; ``token_counts[i]``: its
    length in tokens; ``forward_passes`` and ``seconds``: what scoring cost."""

    logprobs: tuple[float, ...]
    token_counts: tuple[int, ...]
    forward_passes: int
    seconds: float


def log_softmax(logits: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
    """The log-probabilities of a logits row (float64, numerically stable)."""
    row = np.asarray(logits, dtype=np.float64)
    shifted = row - row.max()
    out: npt.NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum())
    return out


def score_continuations(
    session: LocalSession, prompt: Sequence[int], options: Sequence[Sequence[int]]
) -> ContinuationScores:
    """Score each option (a non-empty token sequence) as a continuation of ``prompt``."""
    if not prompt:
        raise LocalModelError("score_continuations: the prompt is empty")
    if not options or any(len(o) == 0 for o in options):
        raise LocalModelError("score_continuations: every option needs at least one token")
    model = session.model
    longest = max(len(o) for o in options)
    if len(prompt) + longest > model.n_ctx:
        raise ContextOverflowError(
            f"the prompt ({len(prompt)} tokens) and the longest option ({longest}) do not fit "
            f"the context of {model.n_ctx}; shorten the messages or load a larger n_ctx"
        )
    import llama_cpp

    t0 = time.perf_counter()
    with model.lock:
        decoder = session.decoder
        stats = decoder.prime(list(prompt))
        passes = stats.forward_passes
        first = log_softmax(_logits_row(llama_cpp, model, -1))
        n = len(prompt)
        batch: LlamaBatch | None = None
        scores: list[float] = []
        try:
            for option in options:
                total = float(first[option[0]])
                rest = list(option[:-1])
                if len(option) > 1:
                    if batch is None or batch.size < len(rest):
                        batch = LlamaBatch(max(len(rest), 8), seq_id=0)
                    _decode_after(llama_cpp, model, batch, rest, n)
                    passes += 1
                    for i, token in enumerate(option[1:]):
                        total += float(log_softmax(_logits_row(llama_cpp, model, i))[token])
                    _forget_after(llama_cpp, model, decoder, n)
                scores.append(total)
        except BaseException:
            decoder.clear_cache()  # whatever the cache holds now, the decoder must not trust it
            raise
    return ContinuationScores(
        tuple(scores), tuple(len(o) for o in options), passes, time.perf_counter() - t0
    )


def _logits_row(llama_cpp: Any, model: Any, i: int) -> npt.NDArray[np.float32]:
    ptr = llama_cpp.llama_get_logits_ith(model.ctx, i)
    if not ptr:
        raise LocalModelError("llama.cpp kept no logits for this position")
    row: npt.NDArray[np.float32] = np.ctypeslib.as_array(ptr, shape=(model.n_vocab,)).copy()
    return row


def _decode_after(
    llama_cpp: Any, model: Any, batch: LlamaBatch, tokens: Sequence[int], start: int
) -> None:
    k = len(tokens)
    batch.token[:k] = tokens
    batch.pos[:k] = np.arange(start, start + k, dtype=np.int32)
    batch.logits[:k] = 1
    batch.n_tokens = k
    rc = llama_cpp.llama_decode(model.ctx, batch.batch)
    if rc != 0:
        raise LocalModelError(f"llama_decode failed with code {rc} while scoring options")


def _forget_after(llama_cpp: Any, model: Any, decoder: Any, keep: int) -> None:
    """Drop the option's tokens from the KV cache (positions >= keep), or, where this memory
    cannot drop a suffix, clear it (the decoder then re-evaluates its next prompt)."""
    memory = llama_cpp.llama_get_memory(model.ctx)
    if memory is None or not llama_cpp.llama_memory_seq_rm(memory, 0, keep, -1):
        decoder.clear_cache()
        raise LocalModelError(
            "this model's KV cache cannot drop a suffix (recurrent or sliding-window memory); "
            "scoring options needs a transformer KV cache"
        )
