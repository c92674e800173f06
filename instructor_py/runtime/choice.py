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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from instructor_py.common.errors import LocalModelError
from instructor_py.runtime.scoring import score_continuations

if TYPE_CHECKING:
    from instructor_py.runtime.session import LocalSession

__all__ = ["CONTENT_FREE_INPUTS", "ChoiceScores", "choose"]

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


def choose(
    session: LocalSession,
    prompt_text: str,
    options: Sequence[str],
    content_free_prompts: Sequence[str] = (),
) -> ChoiceScores:
    """Pick one of ``options`` (texts as the model would write them) after ``prompt_text`` (a
    rendered prompt, special tokens included), calibrated against ``content_free_prompts`` (the
    same prompt without the input; none: no calibration)."""
    items = list(options)
    if len(items) < 1 or any(not isinstance(o, str) or not o for o in items):
        raise LocalModelError("choose: pass at least one option, each a non-empty string")
    if len(set(items)) != len(items):
        raise LocalModelError(f"choose: the options repeat: {items!r}")
    prior_rows = []
    passes = 0
    seconds = 0.0
    for text in content_free_prompts:  # first: the real prompt then stays in the KV cache
        cf_logp, _, cf_passes, cf_seconds = _normalised(session, text, items)
        prior_rows.append(np.exp(cf_logp))
        passes += cf_passes
        seconds += cf_seconds
    raw_logp, logprobs, real_passes, real_seconds = _normalised(session, prompt_text, items)
    raw = np.exp(raw_logp)
    passes += real_passes
    seconds += real_seconds
    if prior_rows:
        prior = np.mean(prior_rows, axis=0)
        calibrated = raw_logp - np.log(np.maximum(prior, 1e-300))
        calibrated -= calibrated.max()
        probs = np.exp(calibrated)
        probs /= probs.sum()
    else:
        prior = np.zeros(0)
        probs = raw
    best = int(np.argmax(probs))
    return ChoiceScores(
        options=tuple(items),
        probabilities=tuple(float(p) for p in probs),
        raw=tuple(float(p) for p in raw),
        prior=tuple(float(p) for p in prior),
        logprobs=tuple(logprobs),
        calibrated=bool(prior_rows),
        best=best,
        forward_passes=passes,
        seconds=seconds,
    )


def _normalised(
    session: LocalSession, prompt_text: str, options: list[str]
) -> tuple[np.ndarray, list[float], int, float]:
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
