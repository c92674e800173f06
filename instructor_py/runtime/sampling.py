"""Token sampling on a numpy logits row: greedy by default (extraction), or temperature with
optional top-k / top-p and a seed.

Every operation is vectorised over the vocabulary. Disallowed tokens carry ``-inf`` logits (the
grammar mask), so they get probability 0 in every mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConfigurationError

__all__ = ["Sampler", "SamplingParams"]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """``temperature <= 0`` means greedy (argmax). ``top_k <= 0`` and ``top_p >= 1`` disable
    those filters. ``seed`` makes stochastic sampling reproducible. ``repeat_penalty`` (llama.cpp's
    classic one; 1.0 = off) divides a positive logit (multiplies a negative one) of every token
    among the last ``repeat_last_n`` output tokens."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigurationError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigurationError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repeat_penalty <= 0:
            raise ConfigurationError(f"repeat_penalty must be > 0, got {self.repeat_penalty}")
        if self.repeat_last_n < 0:
            raise ConfigurationError(f"repeat_last_n must be >= 0, got {self.repeat_last_n}")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    @property
    def sample_first_is_exact(self) -> bool:
        """Whether "sample from the raw logits, mask only if the token is disallowed" yields exactly
        the masked distribution. True for greedy (the argmax, when allowed, is the masked argmax) and
        for plain temperature sampling (rejection sampling). Not for top-k/top-p, whose truncation
        depends on which tokens the mask removes."""
        return self.greedy or (self.top_k <= 0 and self.top_p >= 1)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SamplingParams:
        def number(name: str, default: float) -> float:
            value = options.get(name)
            if value is None:
                return default
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"option {name!r} must be a number, got {value!r}")
            return float(value)

        seed = options.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigurationError(f"option 'seed' must be an int, got {seed!r}")
        return cls(
            temperature=number("temperature", 0.0),
            top_p=number("top_p", 1.0),
            top_k=int(number("top_k", 0)),
            seed=seed,
            repeat_penalty=number("repeat_penalty", 1.0),
            repeat_last_n=int(number("repeat_last_n", 64)),
        )


class Sampler:
    """Picks one token from a logits row. One instance per generation (it owns the RNG)."""

    __slots__ = ("_rng", "params")

    def __init__(self, params: SamplingParams) -> None:
        self.params = params
        self._rng = np.random.default_rng(params.seed)

    def penalize(self, logits: FloatArray, recent: Sequence[int]) -> None:
        """Apply the repetition penalty to ``logits`` in place (nothing when it is off)."""
        penalty, n = self.params.repeat_penalty, self.params.repeat_last_n
        if penalty == 1.0 or n == 0 or not recent:
            return
        ids = np.unique(np.asarray(recent[-n:], dtype=np.intp))
        values = logits[ids]
        logits[ids] = np.where(values > 0, values / penalty, values * penalty)

    def sample(self, logits: FloatArray) -> int:
        if self.params.greedy:
            return int(np.argmax(logits))
        return self._sample_stochastic(logits)

    def _sample_stochastic(self, logits: FloatArray) -> int:
        params = self.params
        candidates: npt.NDArray[np.intp] | None = None
        scores = logits.astype(np.float64) / params.temperature
        if 0 < params.top_k < scores.shape[0]:
            candidates = np.argpartition(-scores, params.top_k - 1)[: params.top_k]
            scores = scores[candidates]
        finite = np.isfinite(scores)
        if not finite.any():
            raise ValueError("no token has a finite logit; nothing can be sampled")
        scores = np.where(finite, scores, -np.inf)
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        if params.top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            cumulative = np.cumsum(probs[order])
            keep = int(np.searchsorted(cumulative, params.top_p)) + 1
            kept = order[:keep]
            sub = probs[kept] / probs[kept].sum()
            choice = int(kept[self._rng.choice(kept.shape[0], p=sub)])
        else:
            choice = int(self._rng.choice(probs.shape[0], p=probs))
        return int(candidates[choice]) if candidates is not None else choice
