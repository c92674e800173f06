"""Choosing one of several options by the model's probability of each whole option, calibrated.

A small model asked to pick from a list leans toward the option listed first and toward the
options it likes anyway, whatever the input says. :func:`choose` reads the choice as a
distribution over the options and corrects it ("contextual calibration", Zhao et al. 2021,
*Calibrate Before Use*):

1. each option's text is scored as a continuation of the prompt (the sum of its tokens'
   log-probabilities, :func:`~instructor_py.runtime.scoring.score_continuations`) and the scores
   are normalised over the options: ``p(option | prompt)``;
2. the same is done for *content-free* prompts: the same prompt with the input text replaced by
   ``"N/A"``, ``""`` and ``"[MASK]"`` (the caller renders them); their mean is the model's prior
   for each option at this point, from the instructions, the options' order and the model's own
   bias alone;
3. the calibrated distribution is ``p(option | prompt) / prior(option)``, normalised.

Trailing whitespace of the prompt text is moved to the front of every option, so the options
are tokenized as the model would write them (``": "`` then ``"negative"`` is written ``":"`` then
``' "negative"'``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import LocalModelError
from instructor_py.runtime.scoring import score_continuations

if TYPE_CHECKING:
    from instructor_py.runtime.session import LocalSession

__all__ = [
    "CONTENT_FREE_INPUTS",
    "ChoiceQuery",
    "ChoiceScores",
    "PriorCache",
    "choose",
    "choose_many",
    "prior_cache",
]

#: What replaces the input text in the content-free prompts (Zhao et al. use these three).
CONTENT_FREE_INPUTS = ("N/A", "", "[MASK]")


@dataclass(frozen=True, slots=True)
class ChoiceScores:
    """The outcome of :func:`choose`. ``options``: as given; ``probabilities``: calibrated (or
    the raw ones when there was nothing to calibrate against), summing to 1; ``raw``: the
    normalised probabilities before calibration; ``prior``: the content-free ones (empty when
    not calibrated); ``logprobs``: each option's summed token log-probability; ``best``: the
    index of the chosen option; ``forward_passes``/``seconds``: what it cost."""

    options: tuple[str, ...]
    probabilities: tuple[float, ...]
    raw: tuple[float, ...]
    prior: tuple[float, ...]
    logprobs: tuple[float, ...]
    calibrated: bool
    best: int
    forward_passes: int
    seconds: float

    @property
    def choice(self) -> str:
        return self.options[self.best]


@dataclass(frozen=True, slots=True)
class ChoiceQuery:
    """One choice to read: ``options`` (texts as the model would write them) after
    ``prompt_text`` (a rendered prompt, special tokens included), calibrated against
    ``content_free_prompts`` (the same prompt without the input; none: no calibration)."""

    prompt_text: str
    options: tuple[str, ...]
    content_free_prompts: tuple[str, ...] = ()


def choose(
    session: LocalSession,
    prompt_text: str,
    options: Sequence[str],
    content_free_prompts: Sequence[str] = (),
) -> ChoiceScores:
    """Pick one of ``options`` (texts as the model would write them) after ``prompt_text`` (a
    rendered prompt, special tokens included), calibrated against ``content_free_prompts`` (the
    same prompt without the input; none: no calibration)."""
    query = ChoiceQuery(prompt_text, tuple(options), tuple(content_free_prompts))
    return choose_many(session, [query])[0]


def choose_many(session: LocalSession, queries: Sequence[ChoiceQuery]) -> list[ChoiceScores]:
    """:func:`choose` for several choices, in an order that reuses the KV cache: every real
    prompt first, in the order given (after a decode, each is a prefix of what the cache holds,
    so the answer's tokens are evaluated once for all of them), then each content-free prompt in
    turn across the queries (each one extends the previous query's). A content-free
    distribution already computed on this model for the same prompt text and options is taken
    from the model's prior cache (:class:`PriorCache`) at no cost: repeated calls with the same
    instructions and schema pay for their priors once."""
    for query in queries:
        _check(query.options)
    cache = prior_cache(session)
    raws = [_normalised(session, q.prompt_text, list(q.options)) for q in queries]
    priors: list[list[npt.NDArray[np.float64]]] = [[] for _ in queries]
    costs = [[r[2], r[3]] for r in raws]
    width = max((len(q.content_free_prompts) for q in queries), default=0)
    for j in range(width):
        for i, query in enumerate(queries):
            if j >= len(query.content_free_prompts):
                continue
            key = (query.content_free_prompts[j], query.options)
            prior = cache.get(key)
            if prior is None:
                logp, _, passes, seconds = _normalised(session, key[0], list(query.options))
                prior = np.exp(logp)
                cache.put(key, prior)
                costs[i][0] += passes
                costs[i][1] += seconds
            priors[i].append(prior)
    return [
        _scores(q, raw[0], raw[1], rows, int(cost[0]), float(cost[1]))
        for q, raw, rows, cost in zip(queries, raws, priors, costs, strict=True)
    ]


def _check(items: Sequence[str]) -> None:
    if len(items) < 1 or any(not isinstance(o, str) or not o for o in items):
        raise LocalModelError("choose: pass at least one option, each a non-empty string")
    if len(set(items)) != len(items):
        raise LocalModelError(f"choose: the options repeat: {list(items)!r}")


def _scores(
    query: ChoiceQuery,
    raw_logp: npt.NDArray[np.float64],
    logprobs: list[float],
    prior_rows: list[npt.NDArray[np.float64]],
    passes: int,
    seconds: float,
) -> ChoiceScores:
    raw = np.exp(raw_logp)
    if prior_rows:
        prior = np.mean(prior_rows, axis=0)
        calibrated = raw_logp - np.log(np.maximum(prior, 1e-300))
        calibrated -= calibrated.max()
        probs = np.exp(calibrated)
        probs /= probs.sum()
    else:
        prior = np.zeros(0)
        probs = raw
    return ChoiceScores(
        options=query.options,
        probabilities=tuple(float(p) for p in probs),
        raw=tuple(float(p) for p in raw),
        prior=tuple(float(p) for p in prior),
        logprobs=tuple(logprobs),
        calibrated=bool(prior_rows),
        best=int(np.argmax(probs)),
        forward_passes=passes,
        seconds=seconds,
    )


class PriorCache:
    """Content-free distributions already computed on one model: (prompt text, options) ->
    probabilities, the ``size`` most recently used kept. Thread-safe."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, tuple[str, ...]], npt.NDArray[np.float64]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, tuple[str, ...]]) -> npt.NDArray[np.float64] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[str, tuple[str, ...]], value: npt.NDArray[np.float64]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def prior_cache(session: LocalSession) -> PriorCache:
    """The prior cache of the session's model (one per model, shared by its callers)."""
    return session.model.attached("instructor_py.choice-priors", PriorCache)


def _normalised(
    session: LocalSession, prompt_text: str, options: list[str]
) -> tuple[npt.NDArray[np.float64], list[float], int, float]:
    """Log-probabilities of the options after the prompt, normalised over the options."""
    model = session.model
    stem = prompt_text.rstrip(" \t")
    gap = prompt_text[len(stem) :]
    prompt = model.tokenize(stem)
    token_options = [model.tokenize_bytes((gap + o).encode("utf-8")) for o in options]
    if any(not t for t in token_options):
        raise LocalModelError("choose: an option does not tokenize (is it valid UTF-8 text?)")
    scores = score_continuations(session, prompt, token_options)
    logp = np.array(scores.logprobs, dtype=np.float64)
    top = logp.max()
    norm = logp - (top + np.log(np.exp(logp - top).sum()))
    return norm, list(scores.logprobs), scores.forward_passes, scores.seconds
