"""Token healing at the end of a forced text: the tokens that start with given bytes.

When the decode loop forces the text a grammar fixes (jump-forward), the text is tokenized on its
own, but in the model's training data that text is followed by what comes next, and BPE merges
across the boundary: ``"items": ["apple"`` is ``'":'``, ``' ["'``, ``'apple'`` for Gemma, not
``' ['`` then ``'"'``. Forcing ``' ['`` puts the model on a token boundary it never saw, and
small models then answer badly (a first list item ``"./Microsoft.com"``, or ``""``).

So the last token of a forced text is not forced when a longer token that starts with its bytes
is allowed there: it is left to the model, whose next token must start with those bytes (the
left-out token itself or a longer one, never a shorter piece such as a lone space). The matcher
keeps that restriction until its next token (:meth:`LLGuidanceMatcher.heal`).

:class:`PrefixIndex` finds the tokens that start with some bytes by binary search over the
vocabulary sorted by bytes (built once per tokenizer, on first use), and their bitmask row.
"""

from __future__ import annotations

import bisect
import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from instructor_py.engine.bitmask import bitmask_words, set_token_bits

if TYPE_CHECKING:
    from instructor_py.engine.tokenizer import TokenizerInfo

__all__ = ["PrefixIndex", "prefix_index"]

_CACHE_KEY = "prefix_index"
_lock = threading.Lock()


class PrefixIndex:
    """The tokens of one vocabulary (special and empty tokens left out) sorted by their bytes."""

    __slots__ = ("_ids", "_keys", "_masks", "words")

    def __init__(self, info: TokenizerInfo) -> None:
        special = info.special_token_ids
        order = sorted(
            (t for t, b in enumerate(info.token_bytes) if b and t not in special),
            key=info.token_bytes.__getitem__,
        )
        self._keys = [info.token_bytes[t] for t in order]
        self._ids = np.asarray(order, dtype=np.int64)
        self._masks: dict[bytes, npt.NDArray[np.int32]] = {}
        self.words = bitmask_words(info.vocab_size)

    def starting_with(self, prefix: bytes) -> npt.NDArray[np.int64]:
        """Ids of the tokens whose bytes start with ``prefix`` (``prefix`` itself included)."""
        lo = bisect.bisect_left(self._keys, prefix)
        after = _successor(prefix)
        hi = len(self._keys) if after is None else bisect.bisect_left(self._keys, after, lo)
        return self._ids[lo:hi]

    def mask(self, prefix: bytes) -> npt.NDArray[np.int32]:
        """The bitmask row (int32 words) allowing exactly :meth:`starting_with` ``prefix``."""
        row = self._masks.get(prefix)
        if row is None:
            row = np.zeros(self.words, dtype=np.int32)
            set_token_bits(row, self.starting_with(prefix))
            row.flags.writeable = False
            self._masks[prefix] = row
        return row


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string above every string that starts with ``prefix`` (None: none)."""
    data = bytearray(prefix)
    while data and data[-1] == 0xFF:
        data.pop()
    if not data:
        return None
    data[-1] += 1
    return bytes(data)


def prefix_index(info: TokenizerInfo) -> PrefixIndex:
    """The tokenizer's :class:`PrefixIndex` (built on first use, kept with the tokenizer)."""
    index = info.backend_cache.get(_CACHE_KEY)
    if index is None:
        with _lock:
            index = info.backend_cache.get(_CACHE_KEY)
            if index is None:
                index = PrefixIndex(info)
                info.backend_cache[_CACHE_KEY] = index
    assert isinstance(index, PrefixIndex)
    return index
