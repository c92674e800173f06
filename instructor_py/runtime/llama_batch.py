"""A llama.cpp ``llama_batch`` owned by a Python object: allocated once, written through numpy
views, freed with its owner (the one-sequence decoder's and the continuous batch's)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LlamaBatch"]


class LlamaBatch:
    """Room for ``size`` tokens, one sequence id each. ``token``, ``pos`` and ``logits`` (which
    positions keep their logits) are numpy views on the batch's arrays; ``seq_ids[i][0]`` is the
    sequence of slot ``i``. Set :attr:`n_tokens` and pass :attr:`batch` to ``llama_decode``."""

    def __init__(self, size: int, seq_id: int | None = None) -> None:
        import llama_cpp

        self._llama_cpp: Any = llama_cpp
        self.size = size
        self.batch: Any = llama_cpp.llama_batch_init(size, 0, 1)
        b = self.batch
        self.token: npt.NDArray[np.int32] = np.ctypeslib.as_array(b.token, shape=(size,))
        self.pos: npt.NDArray[np.int32] = np.ctypeslib.as_array(b.pos, shape=(size,))
        self.logits: npt.NDArray[np.int8] = np.ctypeslib.as_array(b.logits, shape=(size,))
        np.ctypeslib.as_array(b.n_seq_id, shape=(size,))[:] = 1
        self.seq_ids: list[Any] = [b.seq_id[i] for i in range(size)]
        if seq_id is not None:  # every slot on one sequence
            for ptr in self.seq_ids:
                ptr[0] = seq_id

    @property
    def n_tokens(self) -> int:
        return int(self.batch.n_tokens)

    @n_tokens.setter
    def n_tokens(self, n: int) -> None:
        self.batch.n_tokens = n

    def __del__(self) -> None:
        batch = getattr(self, "batch", None)
        if batch is not None:
            self._llama_cpp.llama_batch_free(batch)
            self.batch = None
