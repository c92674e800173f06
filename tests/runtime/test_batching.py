"""Continuous batching and prompt-lookup drafting on the embedded model (real llama.cpp passes).

Greedy output must not depend on the company a request keeps (alone, in a batch, with drafts),
and one request's end (done, cancelled, failed, restarted) must not disturb the others.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import BaseModel, Field

from instructor_py import StructuredOutput
from instructor_py.common.errors import ConfigurationError, ConstraintError, ContextOverflowError
from instructor_py.engine.handle import CompiledGrammarHandle, InstrumentedMatcher
from instructor_py.local import ConstraintSpec
from instructor_py.providers.base import InferenceRequest
from instructor_py.providers.local import LocalGeneration, LocalProvider
from instructor_py.runtime.generation import DecodeChunk, DecodeOptions
from instructor_py.runtime.model import LocalModel, ModelOptions, load_model
from instructor_py.runtime.scheduler import DecodeScheduler
from instructor_py.runtime.session import session_for
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(300)]

N_PARALLEL = 8  # the continuous batch is on when a model serves more than one request at once


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return load_model(ModelOptions(n_parallel=N_PARALLEL))


@pytest.fixture(scope="module")
def provider(model: LocalModel) -> LocalProvider:
    provider = LocalProvider.from_options(n_parallel=N_PARALLEL)
    assert provider.load() is model
    return provider


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"type": "string", "maxLength": 40},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
TEXTS = [
    "Jason Smith is 25 years old and lives in San Francisco.",
    "Maria Garcia, aged 41, moved to Buenos Aires last year.",
    "The engineer Li Wei (33) works in Shanghai.",
    "Anna Karenina Petrova is 28 and lives in Saint Petersburg, Russia.",
]
SYSTEM = "Extract the person as JSON with keys name, age, city."


class Order(BaseModel):
    order_id: str = Field(max_length=20)
    customer: str = Field(max_length=40)
    quantity: int = Field(ge=0, le=1000)


class Weather(BaseModel):
    location: str = Field(max_length=40)
    unit: str = Field(max_length=12)


def _prompt(model: LocalModel, text: str) -> tuple[str, list[int]]:
    rendered = model.chat_template.render(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
    )
    return rendered, model.tokenize(rendered)


def _run(
    scheduler: DecodeScheduler, model: LocalModel, text: str, *, lookup: bool, max_tokens: int = 48
) -> list[DecodeChunk]:
    rendered, prompt = _prompt(model, text)
    handle = model.compile(ConstraintSpec.json_schema(PERSON))
    return list(
        scheduler.generate(
            prompt,
            handle,
            DecodeOptions(max_tokens=max_tokens, prompt_text=rendered if lookup else None),
        )
    )


def _tokens(chunks: Sequence[DecodeChunk]) -> tuple[int, ...]:
    return tuple(t for c in chunks for t in c.token_ids)


def _reference(model: LocalModel, text: str, max_tokens: int = 48) -> tuple[int, ...]:
    """The request alone in the batch (no company, no drafts)."""
    assert session_for(model).scheduler.active_rows == 0
    return _tokens(
        _run(session_for(model).scheduler, model, text, lookup=False, max_tokens=max_tokens)
    )


def _request(provider: LocalProvider, text: str, model: type[BaseModel], **options: Any) -> Any:
    so = StructuredOutput().with_provider(provider)
    return so.with_(messages=text, response_model=model, options=options).create().request


def test_greedy_output_is_the_same_alone_in_a_batch_and_with_drafts(model: LocalModel) -> None:
    scheduler = session_for(model).scheduler
    reference = {t: _reference(model, t) for t in TEXTS}
    alone = {t: _tokens(_run(scheduler, model, t, lookup=False)) for t in TEXTS}  # again: cached
    drafted = {t: _run(scheduler, model, t, lookup=True) for t in TEXTS}
    with ThreadPoolExecutor(8) as pool:
        batched = list(pool.map(lambda t: _run(scheduler, model, t, lookup=True), TEXTS * 2))
    assert alone == reference
    assert {t: _tokens(c) for t, c in drafted.items()} == reference
    assert [_tokens(c) for c in batched] == [reference[t] for t in TEXTS * 2]
    assert scheduler.max_rows_seen >= 2  # the requests really were decoded together
    # drafting did happen (and paid): copied names/cities were kept from the drafts
    stats = [c[-1].stats for c in drafted.values()]
    assert all(s is not None for s in stats)
    assert sum(s.accepted_draft_tokens for s in stats if s) > 0
    plain = [_run(scheduler, model, t, lookup=False)[-1].stats for t in TEXTS]
    assert sum(s.forward_passes for s in stats if s) < sum(s.forward_passes for s in plain if s)


def test_prompt_lookup_is_exact_over_schemas_through_the_provider(provider: LocalProvider) -> None:
    cases = [
        ("Order A-1187 from Globex Ltd: 12 units of paper.", Order),
        ("Customer Initech ordered 5 licenses, order number INV-2024-117.", Order),
        ("What is the weather like in Boston, Massachusetts, in fahrenheit?", Weather),
        ("Tell me the weather in Paris, France in celsius please.", Weather),
    ]
    kept = 0
    for text, schema in cases:
        on = provider.infer(_request(provider, text, schema, max_tokens=48, prompt_lookup=True))
        off = provider.infer(_request(provider, text, schema, max_tokens=48, prompt_lookup=False))
        assert isinstance(on.raw, LocalGeneration) and isinstance(off.raw, LocalGeneration)
        assert on.raw.token_ids == off.raw.token_ids
        assert off.raw.stats.drafted_tokens == 0
        kept += on.raw.stats.accepted_draft_tokens
        schema.model_validate_json(on.content)
    assert kept > 0


def test_concurrent_requests_with_their_own_max_tokens(provider: LocalProvider) -> None:
    budgets = [3, 7, 48, 12]
    requests = [_request(provider, TEXTS[i], Order, max_tokens=b) for i, b in enumerate(budgets)]
    with ThreadPoolExecutor(4) as pool:
        deltas = list(pool.map(lambda r: list(provider.stream(r)), requests))
    for budget, stream in zip(budgets, deltas, strict=True):
        last = stream[-1]
        assert isinstance(last.raw, LocalGeneration)
        assert len(last.raw.token_ids) <= budget
        if last.raw.finish_reason == "length":
            assert len(last.raw.token_ids) == budget
        assert sum(len(d.content or "") for d in stream) > 0  # streamed as it was decoded
    assert [d[-1].raw.finish_reason for d in deltas][:2] == ["length", "length"]


def test_a_cancelled_stream_frees_its_row_and_the_others_finish(model: LocalModel) -> None:
    scheduler = session_for(model).scheduler
    reference = _reference(model, TEXTS[1])
    rendered, prompt = _prompt(model, TEXTS[0])
    handle = model.compile(ConstraintSpec.json_schema(PERSON))
    stream = scheduler.generate(prompt, handle, DecodeOptions(max_tokens=200, prompt_text=rendered))
    results: list[tuple[int, ...]] = []
    other = threading.Thread(
        target=lambda: results.append(_tokens(_run(scheduler, model, TEXTS[1], lookup=True)))
    )
    first = next(stream)
    other.start()
    assert first.finish_reason is None
    stream.close()  # the consumer walks away
    other.join(timeout=120)
    assert results == [reference]
    deadline = time.monotonic() + 30
    while scheduler.active_rows and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scheduler.active_rows == 0


class _FailingMatcher(InstrumentedMatcher):
    """A matcher that breaks after a few tokens (a stand-in for a backend failure)."""

    __slots__ = ("left",)

    def accept_token(self, token_id: int) -> bool:
        self.left -= 1
        if self.left < 0:
            raise ConstraintError("the backend broke (test)")
        return super().accept_token(token_id)


def test_an_error_in_one_row_does_not_disturb_the_others(model: LocalModel) -> None:
    scheduler = session_for(model).scheduler
    good = model.compile(ConstraintSpec.json_schema(PERSON))
    broken = _FailingMatcher(good.matcher.inner, good.matcher.backend, good.matcher.sink)
    broken.left = 2
    bad = CompiledGrammarHandle(good.spec, broken, good.backend)
    _, prompt = _prompt(model, TEXTS[3])

    def failing() -> BaseException | None:
        try:
            list(scheduler.generate(prompt, bad, DecodeOptions(max_tokens=48)))
        except ConstraintError as exc:
            return exc
        return None

    with ThreadPoolExecutor(4) as pool:
        error = pool.submit(failing)
        outs = list(pool.map(lambda t: _tokens(_run(scheduler, model, t, lookup=True)), TEXTS[:3]))
    assert "the backend broke" in str(error.result())
    for tokens in outs:  # the other requests ran to their end: a complete answer each
        text = b"".join(model.token_bytes(t) for t in tokens).decode()
        assert set(json.loads(text)) == {"name", "age", "city"}


def test_rows_that_outgrow_the_cells_start_over_with_the_same_answers(model: LocalModel) -> None:
    # a tiny batch context (256 cells): 4 requests of ~80 prompt tokens + answers cannot all fit
    scheduler = DecodeScheduler(model, 4, 160)
    texts = [" ".join([t] * 4) for t in TEXTS]
    reference = [_reference(model, t, max_tokens=32) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        outs = list(
            pool.map(
                lambda t: _tokens(_run(scheduler, model, t, lookup=False, max_tokens=32)), texts
            )
        )
    assert outs == reference
    ctx = scheduler._ctx
    assert ctx is not None and ctx.clears > 0  # the pool was cleared (drained or restarted)


def test_a_request_larger_than_the_batch_context_is_a_clear_error(model: LocalModel) -> None:
    scheduler = DecodeScheduler(model, 2, 32)  # llama.cpp rounds the cells up to 256
    with pytest.raises(ContextOverflowError, match="n_ctx_parallel"):
        _run(scheduler, model, " ".join(TEXTS * 8), lookup=False)  # ~500 prompt tokens


def test_a_shared_prompt_prefix_is_evaluated_once(
    provider: LocalProvider, model: LocalModel
) -> None:
    # an empty pool, so no clear (when the cells of earlier tests run out) falls between them
    assert session_for(model).scheduler.clear_cache()
    system = (
        "You extract orders. " + "Answer with the order id, the customer and the quantity. " * 6
    )
    requests = [
        StructuredOutput()
        .with_provider(provider)
        .with_(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": t}],
            response_model=Order,
            options={"max_tokens": 40},
        )
        .create()
        .request
        for t in ("Order 1: Acme, 3 units.", "Order 2: Globex, 9 units.", "Order 3: Initech, 1.")
    ]
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(provider.infer, requests))
    raws = [r.raw for r in responses]
    assert all(isinstance(r, LocalGeneration) for r in raws)
    reused = [r.stats.reused_tokens for r in raws if isinstance(r, LocalGeneration)]
    prompt_tokens = raws[0].stats.prompt_tokens if isinstance(raws[0], LocalGeneration) else 0
    # the system prompt was evaluated once: the first request's pass, which the two others
    # (sent at the same time) waited for and copied
    assert sorted(reused)[0] < prompt_tokens // 2
    assert sorted(reused)[1] >= prompt_tokens // 2
    shared = [r for r in responses if r.usage is not None and r.usage.cache_read_tokens > 0]
    assert len(shared) == 2


async def test_async_tasks_are_batched_and_cancellable(provider: LocalProvider) -> None:
    requests: list[InferenceRequest] = [_request(provider, t, Order, max_tokens=40) for t in TEXTS]
    alone = [provider.infer(r).content for r in requests]
    together = await asyncio.gather(*(provider.ainfer(r) for r in requests))
    assert [r.content for r in together] == alone
    stream = provider.astream(_request(provider, TEXTS[0], Order, max_tokens=200))
    first = await anext(aiter(stream))
    assert first.content is not None
    await stream.aclose()  # type: ignore[attr-defined]
    assert provider.infer(requests[1]).content == alone[1]


def test_the_session_generates_in_the_batch_and_takes_a_compiled_handle(model: LocalModel) -> None:
    session = session_for(model)
    assert session is session_for(model) and session.batched  # one per model
    reference = _reference(model, TEXTS[2])
    _, prompt = _prompt(model, TEXTS[2])
    handle = session.compile(ConstraintSpec.json_schema(PERSON))
    assert (
        _tokens(list(session.generate(prompt, handle, DecodeOptions(max_tokens=48)))) == reference
    )
    bare = session.compile(ConstraintSpec.json_schema(PERSON)).matcher
    with pytest.raises(ConfigurationError, match="compiled handle"):
        list(session.generate(prompt, bare, DecodeOptions(max_tokens=4)))


def test_the_default_model_decodes_alone_and_says_what_prompt_lookup_needs() -> None:
    provider = LocalProvider.from_options()  # n_parallel=1: the one-sequence decoder
    request = _request(provider, TEXTS[0], Order, max_tokens=24)
    response = provider.infer(request)
    assert isinstance(response.raw, LocalGeneration) and response.raw.token_ids
    model = provider.load()
    assert session_for(model)._scheduler is None  # no batch context was created for it
    with pytest.raises(ConfigurationError, match="n_parallel > 1"):
        provider.infer(_request(provider, TEXTS[0], Order, max_tokens=8, prompt_lookup=True))
