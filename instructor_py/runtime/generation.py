"""What a generation is asked and what it gives back, shared by both decode loops (the
one-sequence :class:`~instructor_py.runtime.decoder.LlamaDecoder` and the continuous batch's
:class:`~instructor_py.runtime.decode_row.DecodeRow`): :class:`DecodeOptions` in,
:class:`DecodeChunk` (with :class:`DecodeStats` on the last one) out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from instructor_py.common.errors import ContextOverflowError, LocalModelError
from instructor_py.runtime.lookup import DEFAULT_DRAFT_TOKENS

if TYPE_CHECKING:
    from instructor_py.engine.matcher import Matcher
    from instructor_py.runtime.repetition import RepetitionDetector
    from instructor_py.runtime.sampling import SamplingParams

__all__ = [
    "DecodeChunk",
    "DecodeOptions",
    "DecodeStats",
    "accept_prefix",
    "check_generation",
]


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How to decode one answer.

    - ``max_tokens``: the answer's budget (capped by the context left after the prompt).
    - ``sampling``: :class:`~instructor_py.runtime.sampling.SamplingParams` (default greedy).
    - ``fast_forward``: accept the tokens the grammar forces at once, evaluated in one pass.
    - ``sample_first``: pick from the raw logits first and compute the mask only when the
      grammar refuses the pick (exact under greedy and plain temperature sampling).
    - ``ignore_eos``: unconstrained only, keep generating through end-of-generation tokens (for
      benchmarks that need an exact token count).
    - ``jump_forward``: with ``fast_forward``, also force the forced text that llguidance's
      forced tokens leave out, tokenized by the model's tokenizer.
    - ``repetition``: a :class:`~instructor_py.runtime.repetition.RepetitionDetector` (one per
      generation: it is fed the output) that ends a degenerate loop with
      ``finish_reason="repetition"``.
    - ``prompt_text`` / ``draft_tokens``: prompt-lookup drafting (the rendered prompt, the
      longest draft); the continuous batch only (a model loaded with ``n_parallel`` > 1).
    - ``prefix``: tokens the answer starts with, accepted by the grammar, evaluated with the
      prompt and emitted first (as forced tokens): an answer resumed from a valid part of an
      earlier one. A prefix the grammar refuses is a :class:`LocalModelError`.
    """

    max_tokens: int = 512
    sampling: SamplingParams | None = None
    fast_forward: bool = True
    sample_first: bool = True
    ignore_eos: bool = False
    jump_forward: bool = True
    repetition: RepetitionDetector | None = None
    prompt_text: str | None = None
    draft_tokens: int = DEFAULT_DRAFT_TOKENS
    prefix: tuple[int, ...] = ()


@dataclass(slots=True)
class DecodeStats:
    """Counters of one generation (or, on a decoder's or scheduler's ``totals``, of all of them)."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    evaluated_tokens: int = 0
    sampled_tokens: int = 0
    forced_tokens: int = 0
    forward_passes: int = 0
    masks_computed: int = 0
    sample_first_hits: int = 0
    drafted_tokens: int = 0  # prompt-lookup drafts evaluated (continuous batch only)
    accepted_draft_tokens: int = 0  # of them, kept in the output
    healed_tokens: int = 0  # forced-text tails left to the model (token healing)
    healing_hits: int = 0  # of them, the model chose the left-out token, evaluated ahead
    prompt_seconds: float = 0.0
    decode_seconds: float = 0.0
    forward_seconds: float = 0.0

    @property
    def overhead_seconds(self) -> float:
        """Time after the prompt spent outside llama.cpp's forward passes (masking, sampling,
        matcher updates, text decoding, Python)."""
        return max(0.0, self.decode_seconds - self.forward_seconds)

    @property
    def output_tokens(self) -> int:
        return self.sampled_tokens + self.forced_tokens

    def add(self, other: DecodeStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def snapshot(self) -> DecodeStats:
        return replace(self)


@dataclass(frozen=True, slots=True)
class DecodeChunk:
    """Tokens appended to the output by one step, and their text (UTF-8 safe: an incomplete
    multi-byte sequence is held back until it completes). The last chunk of a generation carries
    ``finish_reason`` ("stop", "length" or "repetition") and the stats."""

    token_ids: tuple[int, ...] = ()
    text: str = ""
    finish_reason: str | None = None
    stats: DecodeStats | None = field(default=None, compare=False)
    detail: str | None = None  # why it stopped, when that is news (e.g. the loop it fell into)


def check_generation(prompt: Sequence[int], n_ctx: int, max_tokens: int) -> None:
    """A clear error for a generation that cannot run (empty or too long prompt, no budget)."""
    if not prompt:
        raise LocalModelError("the prompt is empty; send at least one message")
    if len(prompt) >= n_ctx:
        raise ContextOverflowError(
            f"the prompt has {len(prompt)} tokens but the context holds {n_ctx}; shorten "
            "the messages or load the model with a larger n_ctx (using('local', n_ctx=...))"
        )
    if max_tokens < 1:
        raise LocalModelError(f"max_tokens must be >= 1, got {max_tokens}")


def accept_prefix(matcher: Matcher | None, prefix: Sequence[int], budget: int) -> list[int]:
    """``prefix`` accepted into ``matcher`` (None: unconstrained), for :attr:`DecodeOptions.prefix`;
    a clear error when it does not fit the budget or the grammar refuses a token of it."""
    tokens = list(prefix)
    if len(tokens) > budget:
        raise LocalModelError(
            f"the answer's prefix ({len(tokens)} tokens) is longer than its budget ({budget}); "
            "raise max_tokens or shorten the prefix"
        )
    if matcher is not None:
        for i, token in enumerate(tokens):
            if not matcher.accept_token(token):
                raise LocalModelError(
                    f"the grammar refuses the answer's prefix at token {i} of {len(tokens)} "
                    f"({matcher.get_error() or 'not allowed here'}); pass a prefix the "
                    "constraint accepts"
                )
    return tokens
