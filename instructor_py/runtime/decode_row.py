"""One request of the continuous batch: its decode loop as a state machine the scheduler steps.

:class:`DecodeRow` runs the same loop as :meth:`LlamaDecoder.generate
<instructor_py.runtime.decoder.LlamaDecoder.generate>` (sample first and mask on demand, grammar-forced
tokens fast-forwarded, the repetition detector, ``max_tokens`` / context budget), but it does not
own the context: the :class:`~instructor_py.runtime.scheduler.DecodeScheduler` evaluates the row's
``feed`` (and its drafts) in a forward pass shared with the other rows, then hands the row the
logits rows it asked for.

Per step: :meth:`stage` says what to evaluate (the tokens not yet in the KV cache, then drafted
tokens); after the pass, the scheduler calls :meth:`begin` with the logits, and for every position
:meth:`propose` (True when the mask is needed; the scheduler fills the masks of all rows that need
one together and calls :meth:`propose_masked`) and :meth:`advance`. A draft is kept while it equals
the token the row chooses at its position; the first mismatch ends the step and the KV cells after
the kept tokens are dropped (:attr:`rollback`). The output is therefore the plain loop's output.
Chunks and errors go to :attr:`outbox`, read by the request's consumer.
"""

from __future__ import annotations

import codecs
import queue
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from instructor_py.engine.forcing import forced_tokens
from instructor_py.runtime.generation import (
    DecodeChunk,
    DecodeOptions,
    DecodeStats,
    accept_prefix,
)
from instructor_py.runtime.sampling import Sampler, SamplingParams
from instructor_py.runtime.token_choice import choose_masked, choose_unmasked

if TYPE_CHECKING:
    from instructor_py.engine.handle import CompiledGrammarHandle
    from instructor_py.runtime.lookup import PromptLookup
    from instructor_py.runtime.model import LocalModel

__all__ = ["ANSWER_RESERVE", "DecodeRow"]

ANSWER_RESERVE = 256  # answer tokens a request is admitted with room for (see answer_reserve)


class DecodeRow:
    """The state of one generation in the batch."""

    def __init__(
        self,
        model: LocalModel,
        prompt: Sequence[int],
        handle: CompiledGrammarHandle | None,
        options: DecodeOptions,
        lookup: PromptLookup | None = None,
    ) -> None:
        self.model = model
        self.prompt = list(prompt)
        self.handle = handle
        self.matcher = handle.matcher if handle is not None else None
        self.options = options
        self.sampler = Sampler(options.sampling or SamplingParams())
        self.repetition = options.repetition
        self.lookup = lookup
        self.budget = min(options.max_tokens, model.n_ctx - len(prompt))
        self.stats = DecodeStats(prompt_tokens=len(prompt))
        self.outbox: queue.SimpleQueue[DecodeChunk | BaseException] = queue.SimpleQueue()
        self.out: list[int] = []
        self.text = ""
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.seq: int | None = None  # its sequence in the batch context, while admitted
        self.feed: list[int] = []  # output tokens (or prompt) not yet in the KV cache
        self.drafts: list[int] = []
        self.started = False
        self.finished = False
        self.cancelled = False  # set by the consumer's thread
        self.prompt_done = False
        self.rollback = 0  # refused drafts at the end of the sequence, to drop
        self.failed = False
        self.reserved = 0  # KV cells set aside for the row at admission (prompt + answer budget)
        self.consumed = 0  # of them, taken so far
        self._done = False
        self._t0 = time.perf_counter()
        self._t_prompt_end = self._t0
        self._logits: Sequence[npt.NDArray[np.float32]] = ()
        self._cursor = 0
        self._token = -1

    # --- life cycle -----------------------------------------------------------------------------

    @property
    def tokens(self) -> list[int]:
        """Everything the row's sequence must hold before the next choice: prompt + output."""
        return self.prompt + self.out

    def start(self) -> None:
        """Before the first pass: the tokens the grammar forces at the start of the answer."""
        self.started = True
        self._t0 = time.perf_counter()
        pending = accept_prefix(self.matcher, self.options.prefix, self.budget)
        self.stats.forced_tokens += len(pending)
        pending += self._forced(self.budget - len(pending))
        if pending:
            self._emit(pending)
        self._done = self.matcher is not None and self.matcher.is_terminated()
        self._check_stop()

    def _check_stop(self) -> bool:
        """The plain loop's checks before each choice; True (and finished) when it ends here."""
        if self._done:
            self.finish("stop")
        elif self.repetition is not None and (detail := self.repetition.describe()) is not None:
            self.finish("repetition", detail)
        elif len(self.out) >= self.budget:
            self.finish("length")
        return self.finished

    def finish(self, reason: str, detail: str | None = None) -> None:
        if self.finished:
            return
        now = time.perf_counter()
        if not self.prompt_done:
            self.stats.prompt_seconds = now - self._t0
            self._t_prompt_end = now
        self.stats.decode_seconds = now - self._t_prompt_end
        text = self._utf8.decode(b"", final=True)
        self.finished = True
        self.outbox.put(DecodeChunk((), text, reason, self.stats.snapshot(), detail))

    def fail(self, exc: BaseException) -> None:
        if not self.finished:
            self.finished = True
            self.failed = True
            self.outbox.put(exc)

    def answer_reserve(self) -> int:
        """KV cells to set aside for the rest of the answer at admission: the budget left, at
        most :data:`ANSWER_RESERVE` (most answers are far shorter than ``max_tokens``; a row
        that outgrows it makes the scheduler start over, it does not fail), plus room for one
        round of drafts."""
        left = min(self.budget - len(self.out), ANSWER_RESERVE)
        return max(0, left) + (self.lookup.max_tokens if self.lookup is not None else 0)

    # --- staging --------------------------------------------------------------------------------

    def stage(self, room: int, draft: bool) -> int:
        """Choose this step's tokens: up to ``room`` of the feed (a long prompt goes in pieces),
        then, when the feed is complete and ``draft`` allows, drafted tokens. Returns how many
        feed tokens go in (:attr:`drafts` holds the drafts)."""
        n = min(len(self.feed), room)
        self.drafts = []
        if n == len(self.feed) and draft and self.lookup is not None:
            limit = min(room - n, self.budget - len(self.out) - 1)
            if limit > 0:
                self.drafts = self._checked(self.lookup.propose(self.text, limit))
        return n

    def _checked(self, drafts: list[int]) -> list[int]:
        eog = self.model.eog_token_ids
        for i, t in enumerate(drafts):
            if t in eog:
                drafts = drafts[:i]
                break
        if drafts and self.matcher is not None:
            drafts = drafts[: self.matcher.validate_tokens(drafts)]
        return drafts

    def evaluated(self, n_feed: int, seconds: float) -> bool:
        """The pass ran ``n_feed`` feed tokens (and the drafts); True when logits came back."""
        self.stats.forward_passes += 1
        self.stats.forward_seconds += seconds
        self.stats.evaluated_tokens += n_feed + len(self.drafts)
        self.consumed += n_feed + len(self.drafts)
        self.stats.drafted_tokens += len(self.drafts)
        del self.feed[:n_feed]
        if self.feed:
            return False
        if not self.prompt_done:
            self.prompt_done = True
            self._t_prompt_end = time.perf_counter()
            self.stats.prompt_seconds = self._t_prompt_end - self._t0
            self.stats.forward_seconds = 0.0  # from here on: the generation's passes only
        return True

    # --- choosing -------------------------------------------------------------------------------

    def begin(self, logits: Sequence[npt.NDArray[np.float32]]) -> None:
        """Logits of the last feed token, then of each draft."""
        self._logits = logits
        self._cursor = 0
        self.rollback = 0

    def propose(self) -> bool:
        """Choose the token at the cursor without a mask if possible; True when a mask is needed
        (sample first: the raw pick is kept when the grammar accepts it)."""
        logits = self._logits[self._cursor]
        token = choose_unmasked(
            self.sampler, logits, self.matcher, self.options.sample_first, self.stats, self.out
        )
        if token is None:
            return True
        self._token = token
        return False

    def propose_masked(self, mask: npt.NDArray[np.int32]) -> None:
        """Choose the token at the cursor among those ``mask`` (the row's filled bitmask) allows."""
        matcher = self.matcher
        assert matcher is not None
        logits = self._logits[self._cursor]
        self._token = choose_masked(
            self.sampler, logits, matcher, mask, self.model.n_vocab, self.stats
        )

    def advance(self) -> bool:
        """Take the chosen token (and the forced ones after it). True when the row goes on at the
        next draft position in this step; else its new :attr:`feed` is set and, when drafts were
        refused, :attr:`rollback` says how many KV cells to drop at the end."""
        token = self._token
        self.stats.sampled_tokens += 1
        j = self._cursor
        drafts = self.drafts
        if token in self.model.eog_token_ids and not self.options.ignore_eos:
            self._rollback(j)
            self.finish("stop")
            return False
        new = [token]
        matcher = self.matcher
        self._done = matcher is not None and matcher.is_terminated()
        if not self._done:
            new.extend(self._forced(self.budget - len(self.out) - 1))
            self._done = matcher is not None and matcher.is_terminated()
        self._emit(new)
        k = 0
        while k < len(new) and j + k < len(drafts) and drafts[j + k] == new[k]:
            k += 1
        if self._check_stop():
            self._rollback(j + k)
            return False
        if k == len(new) and j + k < len(self._logits):
            self._cursor = j + k  # every new token was drafted: its logits are in this pass
            return True
        self._rollback(j + k)
        self.feed = new[k:]
        return False

    def _rollback(self, kept_drafts: int) -> None:
        self.stats.accepted_draft_tokens += kept_drafts
        self.rollback = len(self.drafts) - kept_drafts
        self.drafts = []

    # --- output ---------------------------------------------------------------------------------

    def _forced(self, limit: int) -> list[int]:
        if self.matcher is None or not self.options.fast_forward or limit <= 0:
            return []
        tokens = forced_tokens(
            self.matcher,
            end_tokens=self.model.eog_token_ids,
            tokenize=self.model.tokenize_bytes if self.options.jump_forward else None,
            limit=limit,
        )
        self.stats.forced_tokens += len(tokens)
        return tokens

    def _emit(self, tokens: Sequence[int]) -> None:
        self.out.extend(tokens)
        data = b"".join(self.model.token_bytes(t) for t in tokens)
        text = self._utf8.decode(data)
        self.text += text
        if self.repetition is not None:
            self.repetition.feed(text)
        self.outbox.put(DecodeChunk(tuple(tokens), text))
