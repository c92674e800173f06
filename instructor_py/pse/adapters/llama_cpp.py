"""llama-cpp-python hooks for `StructuringEngine`::

    engine = StructuringEngine(llama)
    engine.configure(User)
    out = llama.create_completion(
        prompt,
        logits_processor=engine.llama_logits_processor(),
        stopping_criteria=engine.llama_stopping_criteria(),
    )

llama-cpp-python calls the processor with every token id so far (prompt + generated) and the
logits row of the next token; the engine reads the token llama.cpp sampled from the next call's
ids. The stopping criterion runs right after sampling, before the sampled token is visible in
the ids, so it stops at the step after the structure closes; since the engine then allows only
end-of-sequence tokens, the output is the same.
"""

from __future__ import annotations

from typing import Any

from instructor_py.pse.adapters.hooks import EngineHooks

__all__ = [
    "LlamaEngineProcessor",
    "LlamaEngineStop",
    "llama_logits_processor",
    "llama_stopping_criteria",
]


class LlamaEngineProcessor:
    """``(input_ids, scores) -> scores`` for llama-cpp-python; starts a new generation."""

    def __init__(self, engine: EngineHooks) -> None:
        self.engine = engine
        engine.reset()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return self.engine.process_logits(input_ids, scores)


class LlamaEngineStop:
    """``(input_ids, logits) -> bool``: True once every row's structure is done."""

    def __init__(self, engine: EngineHooks) -> None:
        self.engine = engine

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        engine = self.engine
        if engine.state_machine is None:
            return False
        engine.sync(input_ids, 1)
        return engine.is_terminated


def llama_logits_processor(engine: EngineHooks) -> Any:
    from llama_cpp import LogitsProcessorList

    return LogitsProcessorList([LlamaEngineProcessor(engine)])


def llama_stopping_criteria(engine: EngineHooks) -> Any:
    from llama_cpp import StoppingCriteriaList

    return StoppingCriteriaList([LlamaEngineStop(engine)])
