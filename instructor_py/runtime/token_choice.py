"""Choosing the next token under a grammar, in two halves both decode loops call (the
one-sequence decoder in one go, the continuous batch with the masks of its rows filled together in
between).

**Sample first, mask on demand.** With greedy decoding (and plain temperature sampling) the token
is first picked from the raw logits and offered to the matcher (:func:`choose_unmasked`); only when
the matcher rejects it is the bitmask computed, applied to the logits (vectorised) and the token
picked again (:func:`choose_masked`). The result is exactly the masked distribution's pick (see
:attr:`SamplingParams.sample_first_is_exact
<instructor_py.runtime.sampling.SamplingParams.sample_first_is_exact>`); with top-k/top-p the
mask is applied first. Either way the chosen token is accepted into the matcher.

Both work in place on the logits row (llama.cpp's output buffer, which the next forward pass
rewrites anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConstraintError
from instructor_py.engine.bitmask import apply_bitmask

if TYPE_CHECKING:
    from instructor_py.engine.matcher import Matcher
    from instructor_py.runtime.generation import DecodeStats
    from instructor_py.runtime.sampling import Sampler

__all__ = ["choose_masked", "choose_unmasked"]


def choose_unmasked(
    sampler: Sampler,
    logits: npt.NDArray[np.float32],
    matcher: Matcher | None,
    sample_first: bool,
    stats: DecodeStats,
    recent: Sequence[int] = (),
) -> int | None:
    """The next token when it needs no mask (no matcher, or the raw pick the matcher accepted);
    None when the mask is needed (then call :func:`choose_masked` on the same row). ``recent``:
    the output so far, for the repetition penalty."""
    sampler.penalize(logits, recent)
    if matcher is None:
        return sampler.sample(logits)
    if sample_first and sampler.params.sample_first_is_exact:
        token = sampler.sample(logits)
        if matcher.accept_token(token):
            stats.sample_first_hits += 1
            return token
    return None


def choose_masked(
    sampler: Sampler,
    logits: npt.NDArray[np.float32],
    matcher: Matcher,
    mask: npt.NDArray[np.int32],
    n_vocab: int,
    stats: DecodeStats,
) -> int:
    """The next token among those ``mask`` (the matcher's bitmask row) allows, accepted into the
    matcher; ``logits`` were penalised by :func:`choose_unmasked` already."""
    stats.masks_computed += 1
    if not mask.any():
        raise ConstraintError(
            "the constraint allows no next token "
            f"({matcher.get_error() or 'the grammar has no continuation'}); "
            "check the schema or grammar"
        )
    apply_bitmask(logits, mask, n_vocab)
    token = sampler.sample(logits)
    if not matcher.accept_token(token):
        raise ConstraintError(
            f"the matcher rejected token {token} that its own mask allowed "
            f"({matcher.get_error() or 'no error reported'})"
        )
    return token
