"""The constrained decode loop inside llama.cpp (driven through llama-cpp-python's low-level API).

Per step: take the logits row of the last evaluated token (a numpy view on llama.cpp's buffer, no
copy), pick a token, advance the matcher, and evaluate the new tokens with ``llama_decode``.

- **Sample first, mask on demand** (:mod:`~instructor_py.runtime.token_choice`): the mask is
  computed only when the matcher refuses the token picked from the raw logits.
- **Fast-forward.** When the grammar forces the next tokens (``compute_ff_tokens``), they are
  accepted at once and evaluated together with the sampled token in one batched forward pass.
- **KV-cache reuse.** The decoder remembers which tokens its KV cache holds; a new prompt only
  evaluates the suffix after the longest common prefix (a retry repeats the whole conversation).
- **Stops** at matcher termination, at an end-of-generation token the grammar allows, at a
  degenerate loop (``finish_reason="repetition"``, with a :class:`RepetitionDetector`), or at
  ``max_tokens`` / the context end (``finish_reason="length"``, a truncation).

Every llama_decode call is a forward pass and is counted in
:class:`~instructor_py.runtime.generation.DecodeStats`. A model's decoder belongs to its runtime
session (:class:`~instructor_py.runtime.session.LocalSession`), which serialises it.
"""

from __future__ import annotations

import codecs
import ctypes
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConfigurationError, ContextOverflowError, LocalModelError
from instructor_py.engine.bitmask import allocate_bitmask
from instructor_py.runtime.generation import (
    DecodeChunk,
    DecodeOptions,
    DecodeStats,
    accept_prefix,
    check_generation,
)
from instructor_py.runtime.llama_batch import LlamaBatch
from instructor_py.runtime.sampling import Sampler, SamplingParams
from instructor_py.runtime.token_choice import choose_masked, choose_unmasked

if TYPE_CHECKING:
    from instructor_py.engine.matcher import Matcher
    from instructor_py.runtime.model import LocalModel

__all__ = ["LlamaDecoder"]


class LlamaDecoder:
    """The decode loop on one model's llama.cpp context. Not thread-safe: hold ``model.lock``
    (:meth:`LocalSession.generate <instructor_py.runtime.session.LocalSession.generate>` does)."""

    def __init__(self, model: LocalModel) -> None:
        import llama_cpp

        self._llama_cpp: Any = llama_cpp
        self.model = model
        self._ctx = model.ctx
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self.n_ctx = model.n_ctx
        self.n_batch = model.n_batch
        self.n_vocab = model.n_vocab
        self._batch = LlamaBatch(self.n_batch, seq_id=0)
        self._kv_tokens: list[int] = []
        self._bitmask: npt.NDArray[np.int32] | None = None
        self._logits_view: npt.NDArray[np.float32] | None = None
        self._logits_address: int | None = None
        self.totals = DecodeStats()

    # --- KV cache -------------------------------------------------------------------------------

    @property
    def cached_tokens(self) -> tuple[int, ...]:
        """The tokens whose keys/values the context currently holds (positions 0..n-1)."""
        return tuple(self._kv_tokens)

    def prime(self, tokens: Sequence[int]) -> DecodeStats:
        """Evaluate ``tokens`` into the KV cache (e.g. a shared system prompt), so later prompts
        that start with them only evaluate their suffix."""
        stats = DecodeStats(prompt_tokens=len(tokens))
        if tokens:
            t0 = time.perf_counter()
            self._prefill(tokens, stats)
            stats.prompt_seconds = time.perf_counter() - t0
            self.totals.add(stats)
        return stats

    def clear_cache(self) -> None:
        if self._memory is not None:
            self._llama_cpp.llama_memory_clear(self._memory, True)
        self._kv_tokens = []

    def _truncate_cache(self, keep: int) -> int:
        if keep >= len(self._kv_tokens):
            return len(self._kv_tokens)
        if self._memory is not None and self._llama_cpp.llama_memory_seq_rm(
            self._memory, 0, keep, -1
        ):
            del self._kv_tokens[keep:]
            return keep
        self.clear_cache()  # this memory type cannot drop a suffix (recurrent / sliding window)
        return 0

    def _evaluate(self, tokens: Sequence[int], stats: DecodeStats, rows: int = 1) -> None:
        """Run the model on ``tokens`` after the cached ones; logits of the last ``rows`` stay
        readable (``rows`` must fit the last chunk: see :meth:`_ahead`)."""
        start = len(self._kv_tokens)
        if start + len(tokens) > self.n_ctx:
            raise ContextOverflowError(
                f"{start + len(tokens)} tokens do not fit the context of {self.n_ctx}; "
                "shorten the messages or load the model with a larger n_ctx"
            )
        batch = self._batch
        for offset in range(0, len(tokens), self.n_batch):
            chunk = tokens[offset : offset + self.n_batch]
            n = len(chunk)
            batch.token[:n] = chunk
            batch.pos[:n] = np.arange(start + offset, start + offset + n, dtype=np.int32)
            batch.logits[:n] = 0
            batch.logits[max(0, n - rows) : n] = 1
            batch.n_tokens = n
            t0 = time.perf_counter()
            rc = self._llama_cpp.llama_decode(self._ctx, batch.batch)
            stats.forward_seconds += time.perf_counter() - t0
            if rc != 0:
                self.clear_cache()
                raise LocalModelError(
                    f"llama_decode failed with code {rc} at position {start + offset}; the KV "
                    "cache was cleared. If the context is full, load the model with a larger n_ctx"
                )
            stats.forward_passes += 1
            self._kv_tokens.extend(chunk)
        stats.evaluated_tokens += len(tokens)

    def _logits(self, row: int = -1) -> npt.NDArray[np.float32]:
        ptr = self._llama_cpp.llama_get_logits_ith(self._ctx, row)
        address = ctypes.cast(ptr, ctypes.c_void_p).value
        if address != self._logits_address or self._logits_view is None:
            # building the numpy view costs more than a step's other Python work: reuse it while
            # llama.cpp keeps its output buffer in place
            self._logits_view = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
            self._logits_address = address
        return self._logits_view

    def _prefill(
        self, prompt: Sequence[int], stats: DecodeStats, matcher: Matcher | None = None
    ) -> int | None:
        """Evaluate ``prompt`` after the longest cached prefix; with a heal pending on
        ``matcher``, the left-out token is evaluated ahead (returned, see :meth:`_ahead`)."""
        common = 0
        limit = min(len(prompt) - 1, len(self._kv_tokens))  # always evaluate >= 1 token for logits
        while common < limit and self._kv_tokens[common] == prompt[common]:
            common += 1
        kept = self._truncate_cache(common)
        stats.reused_tokens = kept
        return self._evaluate_ahead(prompt[kept:], stats, matcher)

    def _ahead(self, tokens: Sequence[int], matcher: Matcher | None) -> int | None:
        """The token a pending heal left to the model, when it can be evaluated ahead, in the
        same pass as ``tokens``: the model will most often choose it, and then its pass is
        saved. Needs the logits of the last two positions in one chunk, and room for it."""
        token = getattr(matcher, "healing_token", None)
        if not isinstance(token, int) or not tokens or len(tokens) % self.n_batch == 0:
            return None
        if len(self._kv_tokens) + len(tokens) + 1 > self.n_ctx:
            return None
        return token

    def _evaluate_ahead(
        self, tokens: Sequence[int], stats: DecodeStats, matcher: Matcher | None
    ) -> int | None:
        ahead = self._ahead(tokens, matcher)
        if ahead is None:
            self._evaluate(tokens, stats)
        else:
            self._evaluate([*tokens, ahead], stats, rows=2)
        return ahead

    # --- token choice ---------------------------------------------------------------------------

    def _mask_row(self, matcher: Matcher) -> npt.NDArray[np.int32]:
        if self._bitmask is None:
            self._bitmask = allocate_bitmask(1, self.n_vocab)
        matcher.fill_next_token_bitmask(self._bitmask, 0)
        row: npt.NDArray[np.int32] = self._bitmask[0]
        return row

    def _choose(
        self,
        sampler: Sampler,
        matcher: Matcher | None,
        sample_first: bool,
        stats: DecodeStats,
        recent: Sequence[int] = (),
        row: int = -1,
    ) -> int:
        """Pick the next token (see :mod:`~instructor_py.runtime.token_choice`); with a matcher,
        the token is also accepted into it. ``recent``: the output so far, for the repetition
        penalty. ``row``: which of the last pass's logits (-2 when a token was evaluated ahead)."""
        logits = self._logits(row)
        token = choose_unmasked(sampler, logits, matcher, sample_first, stats, recent)
        if token is not None:
            return token
        assert matcher is not None
        return choose_masked(sampler, logits, matcher, self._mask_row(matcher), self.n_vocab, stats)

    # --- the loop -------------------------------------------------------------------------------

    @staticmethod
    def check_options(options: DecodeOptions) -> None:
        """A :class:`ConfigurationError` for options only the continuous batch serves."""
        if options.prompt_text is not None:
            raise ConfigurationError(
                "prompt_lookup drafts in the continuous batch; load the model with n_parallel > 1 "
                "(using('local', n_parallel=8, prompt_lookup=True))"
            )

    def generate(
        self,
        prompt: Sequence[int],
        matcher: Matcher | None = None,
        options: DecodeOptions | None = None,
    ) -> Iterator[DecodeChunk]:
        """Generate after ``prompt`` under ``matcher`` (None: unconstrained); yields a chunk per
        step, the last one with finish_reason (see :class:`DecodeOptions
        <instructor_py.runtime.generation.DecodeOptions>`). ``jump_forward`` is described at
        :meth:`_forced_tokens`. With a ``repetition`` detector, the output text is fed to it and
        the generation ends with ``finish_reason="repetition"`` (the loop described in the last
        chunk's ``detail``) as soon as it reports a degenerate loop. Prompt-lookup drafting
        (``prompt_text``) needs the continuous batch: a :class:`ConfigurationError` here.
        """
        opts = options or DecodeOptions()
        self.check_options(opts)
        max_tokens, fast_forward = opts.max_tokens, opts.fast_forward
        jump_forward, sample_first = opts.jump_forward, opts.sample_first
        ignore_eos, repetition = opts.ignore_eos, opts.repetition
        check_generation(prompt, self.n_ctx, max_tokens)
        sampler = Sampler(opts.sampling or SamplingParams())
        stats = DecodeStats(prompt_tokens=len(prompt))
        budget = min(max_tokens, self.n_ctx - len(prompt))
        eog = self.model.eog_token_ids
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out: list[int] = []

        def emit(tokens: Sequence[int]) -> DecodeChunk:
            out.extend(tokens)
            data = b"".join(self.model.token_bytes(t) for t in tokens)
            text = utf8.decode(data)
            if repetition is not None:
                repetition.feed(text)
            return DecodeChunk(tuple(tokens), text)

        def finish(reason: str, detail: str | None = None) -> DecodeChunk:
            stats.decode_seconds = time.perf_counter() - t_prompt_end
            self.totals.add(stats)
            text = utf8.decode(b"", final=True)
            return DecodeChunk((), text, reason, stats.snapshot(), detail)

        def looped() -> DecodeChunk | None:
            detail = repetition.describe() if repetition is not None else None
            return None if detail is None else finish("repetition", detail)

        def forced(limit: int) -> list[int]:
            if matcher is None or not fast_forward or limit <= 0:
                return []
            tokens = self._forced_tokens(matcher, limit, jump_forward)
            stats.forced_tokens += len(tokens)
            return tokens

        t0 = time.perf_counter()
        pending = accept_prefix(matcher, opts.prefix, budget)
        stats.forced_tokens += len(pending)
        pending += forced(budget - len(pending))
        # a token a heal left to the model, evaluated ahead: the logits before it are at row -2
        ahead = self._prefill([*prompt, *pending], stats, matcher)
        t_prompt_end = time.perf_counter()
        stats.prompt_seconds = t_prompt_end - t0
        stats.forward_seconds = 0.0  # from here on: forward passes of the generation only
        if pending:
            yield emit(pending)
        done = matcher is not None and matcher.is_terminated()
        while True:
            if done:
                yield finish("stop")
                return
            stop = looped()
            if stop is not None:
                yield stop
                return
            if len(out) >= budget:
                yield finish("length")
                return
            healing = getattr(matcher, "healing_token", None) is not None
            token = self._choose(
                sampler, matcher, sample_first, stats, out, -2 if ahead is not None else -1
            )
            stats.sampled_tokens += 1
            stats.healed_tokens += healing
            evaluated = ahead is not None and token == ahead
            if ahead is not None and not evaluated:  # drop the token evaluated ahead
                cached = len(self._kv_tokens) - 1
                if self._truncate_cache(cached) != cached:  # the cache could not drop it
                    self._prefill([*prompt, *out], stats)
            stats.healing_hits += evaluated
            ahead = None
            if token in eog and not ignore_eos:
                yield finish("stop")
                return
            new = [token]
            done = matcher is not None and matcher.is_terminated()
            if not done:
                new.extend(forced(budget - len(out) - 1))
                done = matcher is not None and matcher.is_terminated()
            yield emit(new)
            if done or len(out) >= budget or (repetition is not None and repetition.found):
                continue
            todo = new[1:] if evaluated else new
            if todo:
                ahead = self._evaluate_ahead(todo, stats, matcher)
            # else: the token evaluated ahead was chosen and nothing is forced after it; the
            # logits after it are the last pass's last row

    def _forced_tokens(self, matcher: Matcher, limit: int, jump_forward: bool) -> list[int]:
        """Accept and return the tokens the grammar forces next (at most ``limit``, never an
        end-of-generation token).

        ``compute_ff_tokens`` is conservative: it leaves out the tail of the forced text whose
        tokenization could merge with what follows (after a key, the ``":"`` before a string
        value). With ``jump_forward`` that tail is tokenized by the model's tokenizer and forced
        too, as far as the grammar accepts the tokens, so it costs a token in the batched pass
        instead of one sampled forward pass per piece.
        """
        from instructor_py.engine.forcing import forced_tokens

        return forced_tokens(
            matcher,
            end_tokens=self.model.eog_token_ids,
            tokenize=self.model.tokenize_bytes if jump_forward else None,
            limit=limit,
        )
