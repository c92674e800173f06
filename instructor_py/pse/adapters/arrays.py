"""Score and token arrays of the frameworks `StructuringEngine` serves: numpy arrays, and torch
tensors when torch is installed (torch is never imported here unless the caller passed a tensor,
i.e. already imported it).

Scores are ``(batch, width)`` or ``(width,)`` floating arrays; masking happens in place and the
same object is returned. Columns at or past the tokenizer's vocabulary are always masked.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConfigurationError
from instructor_py.engine.bitmask import Bitmask, apply_bitmask, unpack_bits

__all__ = ["ScoresInfo", "mask_scores", "read_scores", "read_token_ids", "row_for_sampler"]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and "torch" in sys.modules


@dataclass(frozen=True, slots=True)
class ScoresInfo:
    kind: str  # "numpy" | "torch"
    batch: int
    width: int
    one_d: bool


_ONE_D: dict[int, ScoresInfo] = {}  # width -> the description of a 1-D numpy row (reused)
_ONE_TOKEN = np.zeros(1, dtype=np.int64)


def read_scores(scores: Any, what: str = "scores") -> ScoresInfo:
    """Validate a scores argument (type, rank, floating dtype) and describe it."""
    if type(scores) is np.ndarray and scores.ndim == 1 and scores.dtype.kind == "f":
        known = _ONE_D.get(scores.shape[0])  # the per-token case: one row, seen before
        if known is not None:
            return known
    if isinstance(scores, np.ndarray):
        kind = "numpy"
        floating = scores.dtype.kind == "f"
    elif _is_torch(scores):
        kind = "torch"
        floating = bool(scores.is_floating_point())
    else:
        raise ConfigurationError(
            f"{what} must be a numpy array or a torch tensor of shape (batch, vocab) or (vocab,), "
            f"got {type(scores).__name__}."
        )
    shape = scores.shape
    ndim = len(shape)
    if ndim == 1 and floating and kind == "numpy" and shape[0]:
        return _ONE_D.setdefault(int(shape[0]), ScoresInfo(kind, 1, int(shape[0]), True))
    if ndim not in (1, 2):
        raise ConfigurationError(
            f"{what} must have shape (batch, vocab) or (vocab,), got shape {tuple(shape)}."
        )
    if not floating:
        raise ConfigurationError(
            f"{what} must be floating point (logits or log-probabilities), got dtype "
            f"{scores.dtype}."
        )
    dims = tuple(int(d) for d in shape)
    if 0 in dims:
        raise ConfigurationError(f"{what} is empty (shape {dims}).")
    one_d = ndim == 1
    return ScoresInfo(kind, 1 if one_d else dims[0], dims[-1], one_d)


def mask_scores(scores: Any, info: ScoresInfo, bitmask: Bitmask, vocab_size: int) -> Any:
    """Set disallowed entries of ``scores`` to ``-inf`` in place; returns ``scores``."""
    if info.kind == "numpy":
        if info.one_d:
            apply_bitmask(scores, bitmask[0], vocab_size)
            return scores
        rows = scores
        for i in range(info.batch):
            apply_bitmask(rows[i], bitmask[i], vocab_size)
        return scores
    import torch

    n = min(vocab_size, info.width)
    allowed = np.zeros((info.batch, info.width), dtype=np.bool_)
    for i in range(info.batch):
        allowed[i, :n] = unpack_bits(bitmask[i], n)
    block = torch.from_numpy(allowed).to(scores.device)
    target = scores.view(1, -1) if info.one_d else scores
    target.masked_fill_(~block, float("-inf"))
    return scores


def numpy_row(scores: Any, info: ScoresInfo, i: int) -> npt.NDArray[np.float32]:
    """Row ``i`` as a float32 numpy copy (for choosing the best valid token)."""
    row = scores if info.one_d else scores[i]
    if info.kind == "torch":
        row = row.detach().float().cpu().numpy()
    return np.array(row, dtype=np.float32)


def row_for_sampler(scores: Any, info: ScoresInfo, i: int, banned: list[int]) -> Any:
    """A copy of row ``i`` shaped like the sampler's input (``(1, width)`` for batched scores,
    ``(width,)`` otherwise), with the ``banned`` tokens at ``-inf``."""
    if info.kind == "torch":
        row = scores.clone() if info.one_d else scores[i : i + 1].clone()
    else:
        row = np.array(scores if info.one_d else scores[i : i + 1], copy=True)
    view = row if info.one_d else row[0]
    for t in banned:
        if 0 <= t < info.width:
            view[t] = float("-inf")
    return row


def read_token_ids(out: Any, batch: int) -> list[int]:
    """The token ids a sampler returned: one per row (scalar, ``(batch,)`` or ``(batch, 1)``)."""
    if batch == 1 and isinstance(out, int | np.integer) and not isinstance(out, bool):
        return [int(out)]
    if _is_torch(out):
        out = out.detach().cpu().numpy()
    arr = np.asarray(out)
    if arr.dtype.kind not in "iuf":
        raise ConfigurationError(
            f"the sampler must return token ids (ints), got {type(out).__name__} of {arr.dtype}."
        )
    flat = arr.reshape(-1)
    if flat.size != batch:
        raise ConfigurationError(
            f"the sampler returned {flat.size} token ids for a batch of {batch}; return one per row."
        )
    if arr.dtype.kind == "f" and not np.array_equal(flat, np.floor(flat)):
        raise ConfigurationError("the sampler returned non-integer token ids.")
    return [int(v) for v in flat.tolist()]


def one_token(t: int) -> npt.NDArray[np.int64]:
    """``[t]`` as a new int64 array (what ``sample`` returns for a 1-D numpy row)."""
    out = _ONE_TOKEN.copy()
    out[0] = t
    return out


def token_output(rows: list[list[int]], like: Any, info: ScoresInfo, multi: bool) -> Any:
    """The chosen tokens in the scores' array type: ``(n,)`` for 1-D scores; ``(batch,)`` for
    batched scores; with multi-token sampling and a batch, a list of 1-D arrays (rows differ)."""

    def make(values: list[int]) -> Any:
        if info.kind == "torch":
            import torch

            return torch.tensor(values, dtype=torch.long, device=like.device)
        return np.asarray(values, dtype=np.int64)

    if info.one_d:
        if info.kind == "numpy" and len(rows[0]) == 1:
            return one_token(rows[0][0])
        return make(rows[0])
    if not multi:
        return make([r[0] for r in rows])
    return [make(r) for r in rows]


def input_id_rows(input_ids: Any, batch: int) -> list[npt.NDArray[np.int64]] | None:
    """``input_ids`` (``(batch, length)``, ``(length,)``, a list, or None) as one array per row."""
    if input_ids is None:
        return None
    if _is_torch(input_ids):
        input_ids = input_ids.detach().cpu().numpy()
    arr = input_ids if isinstance(input_ids, np.ndarray) else np.asarray(input_ids)
    if arr.size and arr.dtype.kind not in "iu":
        raise ConfigurationError(f"input_ids must be integer token ids, got dtype {arr.dtype}.")
    if arr.ndim == 1:
        if batch == 1:
            return [arr]
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] != batch:
        raise ConfigurationError(
            f"input_ids has shape {tuple(arr.shape)} but the scores have {batch} row(s); pass "
            "(batch, length) token ids matching the scores."
        )
    return [arr[i] for i in range(batch)]
