"""Random walks through a token mask, independent of instructor_py.

A walk starts from a fresh matcher and, at every step, samples uniformly among the tokens the mask
allows, until it samples an end-of-sequence token. Uniform sampling over a 49k vocabulary rarely
closes a string, so after ``soft_cap`` steps the walk *prefers closing*: it stops as soon as EOS is
allowed, and otherwise samples (with probability ``close_bias``) among the allowed tokens whose bytes
contain a closing character (``"``, ``}`` or ``]``). After ``hard_cap`` steps the walk gives up and
reports itself unfinished (a walk is never forced to finish by cheating on the mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tests.engine_conformance.maskbench_scoring import (
    MaskMatcher,
    allocate_bitmask,
    allowed_token_ids,
)

_CLOSERS = (b'"', b"}", b"]")


@dataclass(frozen=True)
class WalkSample:
    tokens: tuple[int, ...]
    text_bytes: bytes
    finished: bool
    problem: str | None = None

    @property
    def text(self) -> str:
        return self.text_bytes.decode("utf-8")


class RandomWalker:
    """Samples random mask-respecting outputs for one tokenizer."""

    def __init__(
        self,
        token_bytes: Sequence[bytes],
        eos_token_ids: Sequence[int],
        vocab_size: int,
        *,
        soft_cap: int = 40,
        hard_cap: int = 400,
        close_bias: float = 0.9,
    ) -> None:
        self._token_bytes = token_bytes
        self._eos = np.array(sorted(set(eos_token_ids)), dtype=np.int64)
        self._vocab_size = vocab_size
        closing = [i for i, b in enumerate(token_bytes) if any(c in b for c in _CLOSERS)]
        self._closing = np.array(closing, dtype=np.int64)
        self.soft_cap = soft_cap
        self.hard_cap = hard_cap
        self.close_bias = close_bias

    def walk(self, matcher: MaskMatcher, rng: np.random.Generator) -> WalkSample:
        bitmask = allocate_bitmask(self._vocab_size)
        tokens: list[int] = []
        for step in range(self.hard_cap):
            bitmask.fill(0)
            matcher.fill_next_token_bitmask(bitmask, 0)
            allowed = allowed_token_ids(bitmask)
            if allowed.size == 0:
                return self._sample(tokens, False, f"empty mask after {step} tokens")
            if allowed[-1] >= self._vocab_size:
                return self._sample(tokens, False, f"mask allows id {allowed[-1]} past the vocab")
            eos_allowed = np.intersect1d(allowed, self._eos)
            candidates = allowed
            if step >= self.soft_cap:
                if eos_allowed.size:
                    return self._finish(matcher, tokens)
                closing = np.intersect1d(allowed, self._closing)
                if closing.size and rng.random() < self.close_bias:
                    candidates = closing
            token = int(rng.choice(candidates))
            if token in eos_allowed:
                return self._finish(matcher, tokens)
            if not matcher.accept_token(token):
                return self._sample(tokens, False, f"mask allowed token {token}, matcher refused")
            tokens.append(token)
        return self._sample(tokens, False, None)

    def _finish(self, matcher: MaskMatcher, tokens: list[int]) -> WalkSample:
        if not matcher.is_accepting():
            return self._sample(tokens, False, "EOS allowed while the matcher is not accepting")
        return self._sample(tokens, True, None)

    def _sample(self, tokens: list[int], finished: bool, problem: str | None) -> WalkSample:
        text = b"".join(self._token_bytes[t] for t in tokens)
        return WalkSample(tuple(tokens), text, finished, problem)
