"""The local engine: token-level constraints for llama.cpp (public API), the llama.cpp runtime
(:func:`load_model`, a model's :class:`LocalSession` from :func:`session_for`: render, compile,
generate with :class:`DecodeOptions`), and the local provider (:class:`LocalProvider`, its
options: ``LocalProvider.from_options(...)`` is what ``using("local", **options)`` calls;
:class:`ModelOptions`, :class:`SamplingParams`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from instructor_py.constraints.kinds import ConstraintType, StructuredOutputBackendType
from instructor_py.constraints.spec import ConstraintOptions, ConstraintSpec
from instructor_py.engine.backends.base import Backend, BackendMatcher, BackendStats
from instructor_py.engine.batch import BatchProcessor
from instructor_py.engine.bitmask import (
    allocate_bitmask,
    allowed_token_ids,
    apply_bitmask,
    apply_bitmask_batch,
    count_allowed,
    is_token_allowed,
)
from instructor_py.engine.handle import CompiledGrammarHandle
from instructor_py.engine.matcher import Matcher
from instructor_py.engine.orchestrator import (
    AsyncStructuredOutputOrchestrator,
    StructuredOutputOrchestrator,
)
from instructor_py.engine.stats import OrchestratorStats
from instructor_py.engine.tokenizer import TokenizerInfo
from instructor_py.guidance import (
    GuidanceTemplate,
    GuidanceTemplateType,
    GuidanceVariable,
    template_constraint,
)
from instructor_py.pse.engine import EngineStepper, EngineStructure, StructuringEngine
from instructor_py.runtime.chat_template import ChatTemplate
from instructor_py.runtime.classify import Classification, classify
from instructor_py.runtime.decoder import LlamaDecoder
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions, DecodeStats
from instructor_py.runtime.model import LocalModel, ModelOptions, embedded_model_path, load_model
from instructor_py.runtime.openmp import prefer_passive_waits  # sets the policy on import
from instructor_py.runtime.sampling import SamplingParams
from instructor_py.runtime.session import LocalSession, session_for

if TYPE_CHECKING:
    from instructor_py.engine.backends.guidance_backend import (
        AsyncGuidanceBackend,
        CompiledGuidanceProgram,
        GuidanceBackend,
        GuidanceGrammar,
        GuidanceState,
    )
    from instructor_py.providers.local import LocalGeneration, LocalProvider

# the Guidance backend needs llguidance: imported on first use
_GUIDANCE_BACKEND = frozenset(
    {
        "AsyncGuidanceBackend",
        "CompiledGuidanceProgram",
        "GuidanceBackend",
        "GuidanceGrammar",
        "GuidanceState",
    }
)


def __getattr__(name: str) -> Any:
    """The Guidance backend (needs llguidance) and ``LocalProvider`` / ``LocalGeneration`` (the
    provider layer sits above the engine this face exports) load on first use."""
    if name in _GUIDANCE_BACKEND:
        from instructor_py.engine.backends import guidance_backend

        return getattr(guidance_backend, name)
    if name in ("LocalGeneration", "LocalProvider"):
        from instructor_py.providers import local

        return getattr(local, name)
    raise AttributeError(f"module 'instructor_py.local' has no attribute {name!r}")


__all__ = [
    "AsyncGuidanceBackend",
    "AsyncStructuredOutputOrchestrator",
    "Backend",
    "BackendMatcher",
    "BackendStats",
    "BatchProcessor",
    "ChatTemplate",
    "Classification",
    "CompiledGrammarHandle",
    "CompiledGuidanceProgram",
    "ConstraintOptions",
    "ConstraintSpec",
    "ConstraintType",
    "DecodeChunk",
    "DecodeOptions",
    "DecodeStats",
    "EngineStepper",
    "EngineStructure",
    "GuidanceBackend",
    "GuidanceGrammar",
    "GuidanceState",
    "GuidanceTemplate",
    "GuidanceTemplateType",
    "GuidanceVariable",
    "LlamaDecoder",
    "LocalGeneration",
    "LocalModel",
    "LocalProvider",
    "LocalSession",
    "Matcher",
    "ModelOptions",
    "OrchestratorStats",
    "SamplingParams",
    "StructuredOutputBackendType",
    "StructuredOutputOrchestrator",
    "StructuringEngine",
    "TokenizerInfo",
    "allocate_bitmask",
    "allowed_token_ids",
    "apply_bitmask",
    "apply_bitmask_batch",
    "classify",
    "count_allowed",
    "embedded_model_path",
    "is_token_allowed",
    "load_model",
    "prefer_passive_waits",
    "session_for",
    "template_constraint",
]
