"""Session fixtures for the conformance tests (the SmolLM2 vocabulary is ``tests/conftest.py``'s)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import llama_tokenize
from tests.support.maskbench import MaskbenchCase, find_maskbench_dir, load_cases

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def smollm2_tokenize(smollm2_llama: Any) -> Callable[[str], list[int]]:
    return llama_tokenize(smollm2_llama)


@pytest.fixture(scope="session")
def maskbench_cases() -> list[MaskbenchCase]:
    directory = find_maskbench_dir(REPO_ROOT)
    if directory is None:
        pytest.skip("shared/maskbench not found next to the repository (or above it)")
    return load_cases(directory)


@pytest.fixture(scope="session")
def backend_orchestrators(smol: Any) -> dict[str, Any]:
    """One orchestrator per installed backend, each with only that backend (so each backend's
    exactness claims are checked on their own)."""
    from instructor_py.engine.backends import installed_backends
    from instructor_py.local import StructuredOutputOrchestrator

    return {
        b.name: StructuredOutputOrchestrator(smol, backends=[b])
        for b in installed_backends(smol)
    }
