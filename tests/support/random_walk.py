"""Random walks through a token mask, independent of instructor_py.

A walk starts from a fresh matcher and, at every step, samples uniformly among the tokens the mask
allows, until it samples an end-of-sequence token. Uniform sampling over a 49k vocabulary rarely
closes a string, so after ``soft_cap`` steps the walk *prefers closing*, always among the tokens
the mask allows: it stops as soon as EOS is allowed; inside a JSON string (tracked from the bytes
so far) it takes the token ``"`` when allowed; outside one it takes ``}`` or ``]`` when allowed;
otherwise it samples uniformly among the allowed single-byte tokens (so open-ended lexemes such as
an e-mail's local part still reach their next required character). Each preference applies with
probability ``close_bias``. After ``hard_cap`` steps the walk gives up and reports itself
unfinished: a walk is never forced to finish by overriding the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.support.maskbench import MaskMatcher, allocate_bitmask

_QUOTE = ord('"')
_BACKSLASH = ord("\\")


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
    """Samples random mask-respecting outputs for one tokenizer.

    ``vocab_size`` is the bitmask width in tokens (the logits width); a mask that allows an id at
    or past ``len(token_bytes)`` is reported as a problem.
    """

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
        self._eos_set = frozenset(int(t) for t in eos_token_ids)
        self._vocab_size = vocab_size
        self._ids_of = {b: i for i, b in reversed(list(enumerate(token_bytes)))}
        single = [i for i, b in enumerate(token_bytes) if len(b) == 1 and i not in set(eos_token_ids)]
        self._single = np.array(single, dtype=np.int64)
        self.soft_cap = soft_cap
        self.hard_cap = hard_cap
        self.close_bias = close_bias

    def walk(self, matcher: MaskMatcher, rng: np.random.Generator) -> WalkSample:
        bitmask = allocate_bitmask(self._vocab_size)
        tokens: list[int] = []
        in_string = escaped = False
        for step in range(self.hard_cap):
            bitmask.fill(0)
            matcher.fill_next_token_bitmask(bitmask, 0)
            bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")
            allowed = np.flatnonzero(bits)
            if allowed.size == 0:
                return self._sample(tokens, False, f"empty mask after {step} tokens")
            if allowed[-1] >= len(self._token_bytes):
                return self._sample(tokens, False, f"mask allows id {allowed[-1]} past the vocab")
            eos_allowed = bool(bits[self._eos].any())
            if step >= self.soft_cap:
                if eos_allowed:
                    return self._finish(matcher, tokens)
                token = self._closing_choice(bits, allowed, in_string, rng)
            else:
                token = int(rng.choice(allowed))
            if bits[token] and token in self._eos_set:
                return self._finish(matcher, tokens)
            if not matcher.accept_token(token):
                return self._sample(tokens, False, f"mask allowed token {token}, matcher refused")
            tokens.append(token)
            in_string, escaped = _scan(self._token_bytes[token], in_string, escaped)
        return self._sample(tokens, False, None)

    def _closing_choice(
        self,
        bits: np.ndarray[Any, Any],
        allowed: np.ndarray[Any, Any],
        in_string: bool,
        rng: np.random.Generator,
    ) -> int:
        if rng.random() < self.close_bias:
            for closer in (b'"',) if in_string else (b"}", b"]"):
                tid = self._ids_of.get(closer)
                if tid is not None and bits[tid]:
                    return tid
            singles = self._single[bits[self._single] == 1]
            if singles.size:
                return int(rng.choice(singles))
        return int(rng.choice(allowed))

    def _finish(self, matcher: MaskMatcher, tokens: list[int]) -> WalkSample:
        if not matcher.is_accepting():
            return self._sample(tokens, False, "EOS allowed while the matcher is not accepting")
        return self._sample(tokens, True, None)

    def _sample(self, tokens: list[int], finished: bool, problem: str | None) -> WalkSample:
        text = b"".join(self._token_bytes[t] for t in tokens)
        return WalkSample(tuple(tokens), text, finished, problem)



def _scan(data: bytes, in_string: bool, escaped: bool) -> tuple[bool, bool]:
    """Track whether the JSON text so far ends inside a string (and after a backslash)."""
    for byte in data:
        if escaped:
            escaped = False
        elif in_string and byte == _BACKSLASH:
            escaped = True
        elif byte == _QUOTE:
            in_string = not in_string
    return in_string, escaped
