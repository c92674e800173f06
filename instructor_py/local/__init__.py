"""The local engine: token-level constraints for llama.cpp (public API)."""

from __future__ import annotations

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
from instructor_py.local.engine import EngineStepper, EngineStructure, StructuringEngine
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
    "EngineStepper",
    "EngineStructure",
    "LlamaDecoder",
    "LocalModel",
    "Matcher",
    "ModelOptions",
    "OrchestratorStats",
    "SamplingParams",
    "StructuredOutputOrchestrator",
    "StructuringEngine",
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
