"""The local path on real work, through the public API on the embedded model: degenerate loops end
early as failed attempts that name the field, retries differ from the attempt they retry, the
default thread counts, and a prompt a small model reads (no schema syntax to copy)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from instructor_py import StructuredOutput, StructuredOutputRetryError
from instructor_py.providers.local import LocalGeneration
from instructor_py.runtime.model import load_model, usable_cpus
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(300)]

ECHO_PROMPT = "Copy this text exactly: " + "ha " * 12


class Echo(BaseModel):
    text: str


def attempts_of(call: StructuredOutput) -> tuple:  # type: ignore[type-arg]
    try:
        return tuple(call.create().response().attempts)
    except StructuredOutputRetryError as exc:
        return tuple(exc.attempts)


def generation(attempt: object) -> LocalGeneration:
    raw = attempt.raw_response  # type: ignore[attr-defined]
    assert isinstance(raw, LocalGeneration)
    return raw


def test_a_loop_ends_the_attempt_early_with_an_error_naming_the_field() -> None:
    # (not resumed from its valid part: tests/providers/test_local_resume.py)
    attempts = attempts_of(
        StructuredOutput()
        .with_(messages=ECHO_PROMPT, response_model=Echo)
        .with_options(resume_loops=False)
    )
    first = generation(attempts[0])
    assert first.finish_reason == "repetition"
    assert len(first.token_ids) < 80  # stopped a few repeats after the prompt's 12, not at 1024
    assert any("$.text" in e and "loop" in e for e in attempts[0].errors), attempts[0].errors
    assert all(generation(a).finish_reason != "length" for a in attempts)


def test_without_the_check_the_same_loop_runs_to_max_tokens() -> None:
    call = (
        StructuredOutput()
        .using("local", stop_repetition=False)
        .with_(messages=ECHO_PROMPT, response_model=Echo, max_retries=0)
        .with_options(max_tokens=60)
    )
    (attempt,) = attempts_of(call)
    assert generation(attempt).finish_reason == "length"
    assert len(generation(attempt).token_ids) == 60


def test_retries_sample_with_a_raised_temperature_and_a_new_seed_by_default() -> None:
    call = (
        StructuredOutput()
        .with_(messages="Rome is the capital of Italy.", response_model=Echo)
        .with_validator(lambda echo: "answer again")  # every attempt fails: all three run
    )
    attempts = attempts_of(call)
    assert len(attempts) == 3
    sampling = [generation(a).sampling for a in attempts]
    assert sampling[0] is not None and sampling[0].greedy
    assert sampling[1] is not None and sampling[2] is not None
    assert sampling[1].temperature == sampling[2].temperature == 0.7
    assert sampling[1].seed != sampling[2].seed
    assert sampling[1].repeat_penalty == sampling[2].repeat_penalty == 1.3
    assert sampling[0].repeat_penalty == 1.0


def test_a_varied_retry_gets_out_of_a_loop_a_greedy_retry_repeats() -> None:
    call = (
        StructuredOutput()
        .with_(messages=ECHO_PROMPT, response_model=Echo, max_retries=2)
        .with_options(resume_loops=False)
    )
    greedy = attempts_of(call.using("local", retry_temperature=0, retry_repeat_penalty=1))
    varied = attempts_of(call.using("local"))
    # greedy, the 135M model repeats "ha ha ..." on every attempt, the feedback notwithstanding
    assert [generation(a).finish_reason for a in greedy] == ["repetition"] * 3
    assert all("$.text" in a.errors[0] for a in greedy)
    assert generation(varied[0]).finish_reason == "repetition"
    assert generation(varied[-1]).finish_reason == "stop" and not varied[-1].errors


def test_retry_variation_is_overridable() -> None:
    greedy = attempts_of(
        StructuredOutput()
        .using("local", retry_temperature=0, resume_loops=False)
        .with_(messages=ECHO_PROMPT, response_model=Echo, max_retries=1)
    )
    assert all(generation(a).sampling.greedy for a in greedy)  # type: ignore[union-attr]
    explicit = attempts_of(
        StructuredOutput()
        .with_(messages=ECHO_PROMPT, response_model=Echo, max_retries=1)
        .with_options(resume_loops=False)
        .with_retry_options(temperature=0.3, seed=11)
    )
    second = generation(explicit[1]).sampling
    assert second is not None and (second.temperature, second.seed) == (0.3, 11)


def test_default_threads_use_every_cpu_for_the_prompt() -> None:
    import llama_cpp

    model = load_model()
    cpus = usable_cpus()
    assert model.n_threads_batch == cpus
    assert model.n_threads == max(1, cpus // 2)
    assert llama_cpp.llama_n_threads_batch(model.ctx) == cpus
    assert llama_cpp.llama_n_threads(model.ctx) == max(1, cpus // 2)


class LineItem(BaseModel):
    description: str = Field(description="what was sold")
    quantity: int


class Invoice(BaseModel):
    invoice_number: str
    customer: str
    items: list[LineItem] = Field(max_length=3)


def test_nested_models_do_not_leak_schema_syntax_into_the_answer() -> None:
    text = (
        "Invoice INV-0042 for Acme Corp: 2 boxes of paper, 1 stapler."
    )
    attempts = attempts_of(
        StructuredOutput().with_(messages=text, response_model=Invoice, max_retries=0)
    )
    answer = attempts[0].content
    assert answer.startswith("{")
    for leak in ("$ref", "$defs", "#/", "properties", "LineItem"):
        assert leak not in answer, answer


class Trip(BaseModel):
    cities: list[str] = Field(description="The cities to visit.")
    days: int


def test_the_forced_text_before_a_list_is_healed_so_the_first_item_starts_cleanly() -> None:
    """The grammar forces ``' ['`` after ``"cities":``, but SmolLM2 writes ``' ["'`` there: that
    token is left to the model (token healing), so it does not start the first city on a
    boundary it never saw. Forcing ``' ['`` gave ``['.com/en/-takao-japan/...']`` here."""
    model = load_model()
    attempts = attempts_of(
        StructuredOutput().with_(
            messages="We fly to Tokyo and Osaka for 10 days.", response_model=Trip, max_retries=0
        )
    )
    tokens = [model.token_bytes(t) for t in generation(attempts[0]).token_ids]
    opening = tokens.index(b'":') + 1
    assert tokens[opening] == b' ["', tokens[:8]
    # (this greedy attempt then repeats "Tokyo"; what matters here is how the list starts)
    assert attempts[0].content.startswith('{"cities": ["Tokyo"'), attempts[0].content
