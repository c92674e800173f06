"""llguidance's tokenizer for a :class:`TokenizerInfo`, built once per TokenizerInfo object (the
one place that builds it: natively from a llama.cpp vocabulary or a Hugging Face tokenizer JSON,
else through a Python callback)."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import llguidance as llg

from instructor_py.engine.tokenizer import TokenizerInfo

__all__ = ["lltokenizer_for", "native_lltokenizer"]

_TOKENIZER_LOCK = threading.Lock()




class _Wrapped:
    """The duck-typed tokenizer ``llguidance.TokenizerWrapper`` reads.

    It refers to its TokenizerInfo weakly: the info caches the LLTokenizer built from this
    wrapper, and a strong reference back would make a cycle through native code.
    """

    def __init__(self, info: TokenizerInfo) -> None:
        self.eos_token_id = info.eos_token_ids[0]
        self.bos_token_id = info.bos_token_id
        self.tokens = list(info.token_bytes)
        self.special_token_ids = sorted(info.special_token_ids)
        self._info = weakref.ref(info)

    def __call__(self, data: bytes | str) -> list[int]:
        info = self._info()
        if info is None:
            return []
        try:
            return info.tokenize(data)
        except Exception:  # llguidance panics on a Python exception: degrade to no tokens
            return []


def lltokenizer_for(info: TokenizerInfo) -> Any:
    """The ``llguidance.LLTokenizer`` for ``info``, built once per TokenizerInfo object.

    For a llama.cpp model (``info.native``) llguidance calls ``llama_tokenize`` natively (no Python
    callback while masks are computed; the TokenizerInfo keeps the model alive). Otherwise it
    calls back into ``info.tokenize``. Either way it is bound to one model, so it is never shared
    between TokenizerInfo objects, even with equal fingerprints.
    """
    with _TOKENIZER_LOCK:
        tok = info.backend_cache.get("llguidance")
        if tok is None:
            eos = list(info.eos_token_ids)
            native = info.native
            if native is not None:
                # llguidance's convention for llama.cpp: special tokens carry a 0xFF prefix
                tokens = [
                    b"\xff" + t if i in info.special_token_ids else t
                    for i, t in enumerate(info.token_bytes)
                ]
                tok = llg.LLTokenizer.from_llamacpp(  # type: ignore[attr-defined]
                    tokens=tokens,
                    vocab_ptr=native.vocab_ptr,
                    tokenize_fptr=native.tokenize_fptr,
                    eos_token=eos,
                    slices=None,
                )
            else:
                tok = native_lltokenizer(info) or llg.LLTokenizer(
                    llg.TokenizerWrapper(_Wrapped(info)), eos_token=eos
                )
            info.backend_cache["llguidance"] = tok
        return tok


def native_lltokenizer(info: TokenizerInfo) -> Any:
    """llguidance's tokenizer built natively from a Hugging Face tokenizer JSON (no Python
    callback while masks are computed), or ``None`` (no JSON, or one llguidance cannot read: the
    callback path is used)."""
    if info.tokenizer_json is None:
        return None
    try:
        return llg.LLTokenizer(
            info.tokenizer_json, n_vocab=info.vocab_size, eos_token=list(info.eos_token_ids)
        )
    except (ValueError, RuntimeError, TypeError):
        return None
