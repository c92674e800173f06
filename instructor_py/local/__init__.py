"""The local engine: token-level constraints for llama.cpp (public API), and the local provider
(:class:`LocalProvider`, its options: ``LocalProvider.from_options(...)`` is what
``using("local", **options)`` calls; :class:`ModelOptions`, :class:`SamplingParams`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from instructor_py.local.backends.base import Backend, BackendMatcher, BackendStats
from instructor_py.local.batch import BatchProcessor
from instructor_py.local.bitmask import (
    allocate_bitmask,
    allowed_token_ids,
    apply_bitmask,
    apply_bitmask_batch,
    count_allowed,
    is_token_allowed,
)
from instructor_py.local.chat_template import ChatTemplate
from instructor_py.local.constraints import ConstraintOptions, ConstraintSpec
from instructor_py.local.handle import CompiledGrammarHandle
from instructor_py.local.llama import DecodeChunk, DecodeStats, LlamaDecoder
from instructor_py.local.matcher import Matcher
from instructor_py.local.model import LocalModel, ModelOptions, embedded_model_path, load_model
from instructor_py.local.orchestrator import (
    AsyncStructuredOutputOrchestrator,
    StructuredOutputOrchestrator,
)
from instructor_py.local.sampling import SamplingParams
from instructor_py.local.stats import OrchestratorStats
from instructor_py.local.tokenizer import TokenizerInfo

if TYPE_CHECKING:
    from instructor_py.providers.local import LocalGeneration, LocalProvider


def __getattr__(name: str) -> Any:
    """``LocalProvider`` / ``LocalGeneration`` load on first use (the provider module imports
    this package's engine, so importing it here eagerly would be circular)."""
    if name in ("LocalGeneration", "LocalProvider"):
        from instructor_py.providers import local

        return getattr(local, name)
    raise AttributeError(f"module 'instructor_py.local' has no attribute {name!r}")


__all__ = [
    "AsyncStructuredOutputOrchestrator",
    "Backend",
    "BackendMatcher",
    "BackendStats",
    "BatchProcessor",
    "ChatTemplate",
    "CompiledGrammarHandle",
    "ConstraintOptions",
    "ConstraintSpec",
    "DecodeChunk",
    "DecodeStats",
    "LlamaDecoder",
    "LocalGeneration",
    "LocalModel",
    "LocalProvider",
    "Matcher",
    "ModelOptions",
    "OrchestratorStats",
    "SamplingParams",
    "StructuredOutputOrchestrator",
    "TokenizerInfo",
    "allocate_bitmask",
    "allowed_token_ids",
    "apply_bitmask",
    "apply_bitmask_batch",
    "count_allowed",
    "embedded_model_path",
    "is_token_allowed",
    "load_model",
]
