"""What `StructuringEngine` accepts as a tokenizer, turned into a `TokenizerInfo`."""

from __future__ import annotations

from typing import Any

from instructor_py.common.errors import ConfigurationError
from instructor_py.engine.tokenizer import TokenizerInfo

__all__ = ["tokenizer_info_of"]


def tokenizer_info_of(tokenizer: Any) -> TokenizerInfo:
    """A :class:`TokenizerInfo` for anything ``StructuringEngine`` accepts as a tokenizer."""
    from instructor_py.engine.hf_tokenizer import is_hf_tokenizer

    if isinstance(tokenizer, TokenizerInfo):
        return tokenizer
    info = getattr(tokenizer, "tokenizer_info", None)  # our LocalModel
    if isinstance(info, TokenizerInfo):
        return info
    if type(tokenizer).__module__.startswith("llama_cpp") and hasattr(tokenizer, "model"):
        return TokenizerInfo.from_llama(tokenizer)
    if is_hf_tokenizer(tokenizer):
        return TokenizerInfo.from_hf(tokenizer)
    raise ConfigurationError(
        f"StructuringEngine: cannot read a vocabulary from {type(tokenizer).__name__}; pass a "
        "Hugging Face tokenizer (transformers or tokenizers), a llama_cpp.Llama or a TokenizerInfo."
    )
