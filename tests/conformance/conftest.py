"""Session fixtures for the engine conformance tests: the SmolLM2 vocabulary, loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine_conformance.engines import (
    ModelUnavailable,
    llama_tokenize,
    load_vocab_only,
    smollm2_gguf,
)
from tests.engine_conformance.maskbench_scoring import MaskbenchCase, find_maskbench_dir, load_cases

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def smollm2_vocab() -> Any:
    """A ``llama_cpp.Llama`` holding only SmolLM2-135M's vocabulary (no weights)."""
    try:
        return load_vocab_only(smollm2_gguf())
    except ModelUnavailable as exc:
        pytest.skip(f"embedded SmolLM2 tokenizer unavailable: {exc}")


@pytest.fixture(scope="session")
def smollm2_tokenize(smollm2_vocab: Any) -> Callable[[str], list[int]]:
    return llama_tokenize(smollm2_vocab)


@pytest.fixture(scope="session")
def smollm2_info(smollm2_vocab: Any) -> Any:
    from instructor_py.local import TokenizerInfo

    return TokenizerInfo.from_llama(smollm2_vocab)


@pytest.fixture(scope="session")
def maskbench_cases() -> list[MaskbenchCase]:
    directory = find_maskbench_dir(REPO_ROOT)
    if directory is None:
        pytest.skip("shared/maskbench not found next to the repository (or above it)")
    return load_cases(directory)


@pytest.fixture(scope="session")
def backend_orchestrators(smollm2_info: Any) -> dict[str, Any]:
    """One orchestrator per installed backend, each with only that backend (so each backend's
    exactness claims are checked on their own)."""
    from instructor_py.engine.backends import installed_backends
    from instructor_py.local import StructuredOutputOrchestrator

    return {
        b.name: StructuredOutputOrchestrator(smollm2_info, backends=[b])
        for b in installed_backends(smollm2_info)
    }
