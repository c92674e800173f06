"""Token bitmasks: allocate, apply to logits, inspect.

Layout (shared with llguidance, xgrammar and CBISON): numpy int32 ``[batch, ceil(vocab/32)]``; bit
``i`` of word ``w`` allows token ``32*w + i``. Applying a mask never loops over the vocabulary in
Python: the words are unpacked with ``np.unpackbits`` (little-endian bit order) and the logits are
written in one vectorised call. Logits at or past the vocabulary size are always set to ``-inf``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from instructor_py.common.errors import ConfigurationError, TokenOutOfRangeError

Bitmask = npt.NDArray[np.int32]


def bitmask_words(vocab_size: int) -> int:
    """Number of int32 words needed for ``vocab_size`` tokens."""
    return (vocab_size + 31) // 32


def allocate_bitmask(batch_size: int, vocab_size: int) -> Bitmask:
    """A zeroed (nothing allowed) ``[batch_size, ceil(vocab_size/32)]`` int32 bitmask."""
    if batch_size < 1 or vocab_size < 1:
        raise ConfigurationError(
            f"allocate_bitmask: batch_size and vocab_size must be >= 1, got {batch_size}, {vocab_size}."
        )
    return np.zeros((batch_size, bitmask_words(vocab_size)), dtype=np.int32)


def check_bitmask(bitmask: object, index: int, min_words: int) -> Bitmask:
    """Validate a bitmask argument (2-D C-contiguous int32, row ``index`` exists, wide enough)."""
    if not isinstance(bitmask, np.ndarray) or bitmask.dtype != np.int32 or bitmask.ndim != 2:
        raise ConfigurationError(
            "bitmask must be a 2-D numpy int32 array [batch, ceil(vocab/32)]; use allocate_bitmask()."
        )
    if not bitmask.flags["C_CONTIGUOUS"]:
        raise ConfigurationError("bitmask must be C-contiguous; use allocate_bitmask().")
    if not 0 <= index < bitmask.shape[0]:
        raise ConfigurationError(
            f"bitmask row {index} out of range for batch size {bitmask.shape[0]}."
        )
    if bitmask.shape[1] < min_words:
        raise ConfigurationError(
            f"bitmask has {bitmask.shape[1]} words per row; this tokenizer needs {min_words}."
        )
    return bitmask


class MaskRows:
    """Where a matcher that writes masks natively puts row ``index`` of a caller's bitmask: each
    new array is validated once (:func:`check_bitmask`) and its address reused, the last row's
    address is cached (a decode loop fills the same row every step); a row past the batch is
    refused. ``pad``: the array has words past the matcher's own (a wider mask shared with another
    vocabulary), which :meth:`clear_tail` zeroes."""

    __slots__ = ("_address", "_array", "_base", "_index", "nbytes", "pad", "words")

    def __init__(self, words: int) -> None:
        self.words = words
        self.nbytes = words * 4
        self.pad = False
        self._array: object = None
        self._base = 0
        self._index = -1
        self._address = 0

    def address(self, bitmask: Bitmask, index: int) -> int:
        if bitmask is self._array and index == self._index:
            return self._address
        if bitmask is not self._array:
            check_bitmask(bitmask, 0, self.words)
            self._array = bitmask
            self._base = int(bitmask.ctypes.data)
            self.pad = bitmask.shape[1] > self.words
        if not 0 <= index < bitmask.shape[0]:
            check_bitmask(bitmask, index, self.words)
        self._index = index
        self._address = self._base + index * int(bitmask.strides[0])
        return self._address

    def clear_tail(self, bitmask: Bitmask, index: int) -> None:
        if self.pad:
            bitmask[index, self.words :] = 0


def unpack_bits(bitmask_row: npt.NDArray[np.int32], n: int) -> npt.NDArray[np.bool_]:
    """Booleans for tokens ``0..n-1`` (True = allowed)."""
    row = np.ascontiguousarray(bitmask_row, dtype=np.int32)
    bits = np.unpackbits(row.view(np.uint8), bitorder="little", count=min(n, row.size * 32))
    out = bits.view(np.bool_)
    if out.size < n:
        out = np.concatenate([out, np.zeros(n - out.size, dtype=np.bool_)])
    return out


def apply_bitmask(
    logits: npt.NDArray[np.floating[npt.NBitBase]] | npt.NDArray[np.float32],
    bitmask_row: npt.NDArray[np.int32],
    vocab_size: int | None = None,
) -> None:
    """Set disallowed logits to ``-inf`` in place.

    ``logits`` is one row (1-D, any width); ``bitmask_row`` one row of a bitmask. Entries at or past
    ``vocab_size`` (default: all bits of the row) are always masked. Two vectorised strategies:
    when few mask words are non-zero (the usual case in structured output) the allowed logits are
    gathered, the row is filled with ``-inf`` and they are scattered back; otherwise a per-byte
    lookup table turns the mask into a ``0 / -inf`` bias that is added to the row.
    """
    if logits.ndim != 1:
        raise ConfigurationError(
            "apply_bitmask: logits must be a 1-D row; use apply_bitmask_batch()."
        )
    width = logits.shape[0]
    limit = min(width, bitmask_row.shape[-1] * 32 if vocab_size is None else vocab_size)
    words = np.ascontiguousarray(bitmask_row[: bitmask_words(limit)], dtype=np.int32)
    nonzero = np.flatnonzero(words)
    if nonzero.size * 8 < words.size:
        bits = np.unpackbits(words[nonzero].view(np.uint8), bitorder="little").view(np.bool_)
        pos = (nonzero[:, None] * 32 + _BIT_OFFSETS).reshape(-1)[bits]
        if pos.size and pos[-1] >= limit:
            pos = pos[pos < limit]
        kept = logits[pos]
        logits.fill(-np.inf)
        logits[pos] = kept
        return
    bias = np.take(_BYTE_BIAS, words.view(np.uint8), axis=0).reshape(-1)[:limit]
    head = logits[:limit]
    np.add(head, bias.astype(logits.dtype, copy=False), out=head)
    if width > limit:
        logits[limit:] = -np.inf


_BIT_OFFSETS = np.arange(32, dtype=np.intp)
# _BYTE_BIAS[b, i] is 0 if bit i of byte b is set, else -inf
_BYTE_BIAS = np.where(
    np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(bool),
    np.float32(0.0),
    np.float32(-np.inf),
).astype(np.float32)


def apply_bitmask_batch(
    logits: npt.NDArray[np.float32], bitmask: Bitmask, vocab_size: int | None = None
) -> None:
    """:func:`apply_bitmask` for every row of a ``[batch, width]`` logits array."""
    if logits.ndim != 2 or logits.shape[0] > bitmask.shape[0]:
        raise ConfigurationError(
            "apply_bitmask_batch: logits must be [batch, width] with batch <= mask rows."
        )
    for i in range(logits.shape[0]):
        apply_bitmask(logits[i], bitmask[i], vocab_size)


def allowed_token_ids(bitmask_row: npt.NDArray[np.int32], vocab_size: int) -> npt.NDArray[np.intp]:
    """The token ids a bitmask row allows (sorted); cost follows the non-zero words."""
    words = np.ascontiguousarray(bitmask_row[: bitmask_words(vocab_size)], dtype=np.int32)
    nonzero = np.flatnonzero(words)
    if nonzero.size * 8 >= words.size:
        return np.flatnonzero(unpack_bits(words, vocab_size))
    bits = np.unpackbits(words[nonzero].view(np.uint8), bitorder="little").view(np.bool_)
    pos = (nonzero[:, None] * 32 + _BIT_OFFSETS).reshape(-1)[bits]
    return pos[pos < vocab_size] if pos.size and pos[-1] >= vocab_size else pos


def is_token_allowed(bitmask_row: npt.NDArray[np.int32], token_id: int) -> bool:
    """Whether the row allows ``token_id``."""
    if not 0 <= token_id < bitmask_row.shape[-1] * 32:
        raise TokenOutOfRangeError(
            f"token id {token_id} is outside this bitmask row ({bitmask_row.shape[-1] * 32} bits)."
        )
    word = int(bitmask_row[token_id >> 5])
    return bool((word >> (token_id & 31)) & 1)


def count_allowed(bitmask_row: npt.NDArray[np.int32], vocab_size: int) -> int:
    """How many tokens the row allows."""
    return int(np.count_nonzero(unpack_bits(bitmask_row, vocab_size)))


def set_all_allowed(bitmask_row: npt.NDArray[np.int32], vocab_size: int) -> None:
    """Allow every token below ``vocab_size`` (and none past it)."""
    bitmask_row[:] = 0
    full, rest = divmod(vocab_size, 32)
    bitmask_row[:full] = -1
    if rest:
        bitmask_row.view(np.uint32)[full] = (1 << rest) - 1


def set_token_bits(
    bitmask_row: npt.NDArray[np.int32], token_ids: list[int] | npt.NDArray[np.intp]
) -> None:
    """Set the bits of ``token_ids`` (leaves the others unchanged)."""
    ids = np.asarray(token_ids, dtype=np.int64)
    if ids.size == 0:
        return
    u = bitmask_row.view(np.uint32)
    np.bitwise_or.at(u, ids >> 5, (np.uint32(1) << (ids & 31).astype(np.uint32)))
