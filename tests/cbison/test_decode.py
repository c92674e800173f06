"""End to end: the tiny C engine (built with cc, loaded with load_factory over our exported
tokenizer, registered as a backend) constrains real generation of the embedded SmolLM2 model, in
the decode loop and through the public StructuredOutput API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from instructor_py import StructuredOutput
from instructor_py.engine.backends.llguidance_backend import LLGuidanceBackend
from instructor_py.engine.cbison import CbisonBackend, load_factory
from instructor_py.local import ConstraintSpec, StructuredOutputOrchestrator
from instructor_py.providers.local import LocalProvider
from instructor_py.runtime.generation import DecodeOptions
from instructor_py.runtime.model import LocalModel, ModelOptions, load_model
from instructor_py.runtime.session import session_for
from tests.support.cbison.build import needs_cc
from tests.support.smollm2 import needs_model

pytestmark = [needs_cc, needs_model, pytest.mark.e2e, pytest.mark.timeout(300)]

PHONE = r"\(\d{3}\) \d{3}-\d{4}"
N_CTX = (
    1280  # a model of its own (the registry keys on the options), so no other test sees our backend
)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return load_model(ModelOptions(n_ctx=N_CTX))


@pytest.fixture(scope="module")
def tiny_orch(model: LocalModel, tiny_lib: Path) -> StructuredOutputOrchestrator:
    info = model.tokenizer_info
    tiny = CbisonBackend(load_factory(tiny_lib, "tiny", info), name="tiny", tokenizer=info)
    return StructuredOutputOrchestrator(info, backends=[tiny, LLGuidanceBackend(info)])


def _prompt(model: LocalModel, text: str) -> list[int]:
    return session_for(model).render([{"role": "user", "content": text}])


def test_tiny_engine_constrains_the_decode_loop(
    model: LocalModel, tiny_orch: StructuredOutputOrchestrator
) -> None:
    handle = tiny_orch.compile_regex(PHONE)
    assert handle.backend == "tiny"
    chunks = list(
        session_for(model).generate(
            _prompt(model, "Write a US phone number."), handle, DecodeOptions(max_tokens=40)
        )
    )
    text = "".join(c.text for c in chunks)
    assert chunks[-1].finish_reason == "stop"
    assert re.fullmatch(PHONE, text), text
    assert handle.matcher.is_terminated()
    stats = chunks[-1].stats
    assert (
        stats is not None and stats.forced_tokens > 0
    )  # "(" and the separators come from compute_ff_tokens


def test_tiny_engine_choice_in_the_decode_loop(
    model: LocalModel, tiny_orch: StructuredOutputOrchestrator
) -> None:
    handle = tiny_orch.compile(ConstraintSpec.choice(["positive", "negative", "neutral"]))
    assert handle.backend == "tiny"
    prompt = _prompt(
        model, "Sentiment of 'I love this phone, it is great!' (positive/negative/neutral)?"
    )
    chunks = list(session_for(model).generate(prompt, handle, DecodeOptions(max_tokens=10)))
    assert "".join(c.text for c in chunks) in {"positive", "negative", "neutral"}
    assert chunks[-1].finish_reason == "stop"


class Answer(BaseModel):
    answer: Literal["yes", "no"]
    confidence: int


def test_tiny_engine_behind_the_public_api(model: LocalModel, tiny_lib: Path) -> None:
    info = model.tokenizer_info
    tiny = CbisonBackend(load_factory(tiny_lib, "tiny", info), name="tiny", tokenizer=info)
    model.orchestrator.register_backend(tiny, set_as_default=True)
    provider = LocalProvider.from_options(n_ctx=N_CTX)
    assert provider.load() is model
    regex = r'\{"answer":"(yes|no)","confidence":[1-9][0-9]?\}'
    result = (
        StructuredOutput()
        .with_provider(provider)
        .with_(
            messages="Is the sky blue on a clear day? Answer with a confidence from 1 to 99.",
            response_model=Answer,
            options={"constraint": ConstraintSpec.regex(regex)},
        )
        .response()
    )
    assert isinstance(result.value, Answer) and re.fullmatch(regex, result.raw_text or ""), (
        result.raw_text
    )
    assert result.raw_response.backend == "tiny"
    per_backend = model.orchestrator.get_stats().per_backend
    assert per_backend["tiny"].compiles >= 1 and per_backend["tiny"].mask.count > 0
    # a JSON schema (no explicit constraint): the tiny engine refuses the type, llguidance takes over
    other = (
        StructuredOutput()
        .with_provider(provider)
        .with_(messages="Is water wet? yes or no", response_model=Answer)
        .response()
    )
    assert other.value.answer in ("yes", "no") and other.raw_response.backend == "llguidance"
    reason = tiny.unsupported_reason(ConstraintSpec.json_schema(Answer.model_json_schema()))
    assert reason is not None and "only 'regex'" in reason
