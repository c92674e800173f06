"""transformers hooks for `StructuringEngine` (need torch and transformers)::

    engine = StructuringEngine(tokenizer)
    engine.configure(User)
    out = model.generate(
        **inputs,
        logits_processor=engine.hf_logits_processor(),
        stopping_criteria=engine.hf_stopping_criteria(),
    )

``generate`` calls the processor with ``input_ids`` (batch, length) and the scores of the next
token; the engine reads the tokens ``generate`` chose from the next call's ids. transformers'
stopping criteria see the new token, so they stop exactly when every row is done.
"""

from __future__ import annotations

from typing import Any

from instructor_py.common.errors import ConfigurationError
from instructor_py.pse.adapters.hooks import EngineHooks

__all__ = ["hf_logits_processor", "hf_stopping_criteria"]


def _require_torch() -> Any:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigurationError(
            "the transformers adapters need torch and transformers (pip install torch "
            "transformers); with neither, call engine.process_logits / engine.sample yourself."
        ) from exc
    return torch, transformers


def hf_logits_processor(engine: EngineHooks) -> Any:
    """A ``LogitsProcessorList`` holding a ``LogitsProcessor`` for ``engine`` (new generation)."""
    _, transformers = _require_torch()

    class StructuringLogitsProcessor(transformers.LogitsProcessor):  # type: ignore[misc,name-defined]
        def __init__(self, eng: EngineHooks) -> None:
            self.engine = eng

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            return self.engine.process_logits(input_ids, scores)

    engine.reset()
    return transformers.LogitsProcessorList([StructuringLogitsProcessor(engine)])


def hf_stopping_criteria(engine: EngineHooks) -> Any:
    """A ``StoppingCriteriaList`` that stops each row when its structure is done."""
    torch, transformers = _require_torch()

    class StructuringStoppingCriteria(transformers.StoppingCriteria):  # type: ignore[misc,name-defined]
        def __init__(self, eng: EngineHooks) -> None:
            self.engine = eng

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            eng = self.engine
            eng.sync(input_ids, int(input_ids.shape[0]))
            done = [st.is_terminated() for st in eng.steppers]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return transformers.StoppingCriteriaList([StructuringStoppingCriteria(engine)])
