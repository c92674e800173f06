"""The batch API on an in-process provider: order, per-item errors, bounded concurrency, the
progress callback, argument checks, and the batch-wide Retry-After gate (each test runs through
``batch()`` and ``abatch()``)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from instructor_py import (
    InvalidArgumentError,
    RateLimitError,
    ServerError,
    StructuredOutput,
    StructuredOutputResponse,
    StructuredOutputRetryError,
    TransportRetryPolicy,
)
from instructor_py.client.batch import DEFAULT_CONCURRENCY, default_concurrency
from instructor_py.client.batch_gate import GatedProvider, RateGate
from instructor_py.client.progress import ProgressBar
from tests.support.batch_fakes import EDGES, EchoProvider, Person, run


def people(provider: EchoProvider, **parts: Any) -> StructuredOutput[Person]:
    return StructuredOutput().with_provider(provider).with_(response_model=Person, **parts)


@pytest.mark.parametrize("edge", EDGES)
def test_results_come_back_in_input_order_whatever_order_they_finish(edge: str) -> None:
    names = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"]
    # the first inputs are the slowest, so they finish last
    provider = EchoProvider(delay=lambda text: 0.02 * (6 - names.index(text.split()[0])))
    inputs = [f"{name} is {20 + i}" for i, name in enumerate(names)]
    results = run(people(provider), inputs, edge, concurrency=6)
    assert [r.value for r in results] == [Person(name=n, age=20 + i) for i, n in enumerate(names)]
    assert all(isinstance(r, StructuredOutputResponse) for r in results)
    assert provider.finished[-1].startswith("Ann")  # it did finish out of order


@pytest.mark.parametrize("edge", EDGES)
def test_a_failing_item_is_returned_in_its_place_with_every_attempt(edge: str) -> None:
    provider = EchoProvider()
    inputs = ["Ann is 30", "Kid is 5", "Bob is 40"]
    results = run(people(provider, max_retries=1), inputs, edge)
    assert results[0].value == Person(name="Ann", age=30)
    assert results[2].value == Person(name="Bob", age=40)
    error = results[1]
    assert isinstance(error, StructuredOutputRetryError)
    assert len(error.attempts) == 2 and "at least 18" in " ".join(error.attempts[-1].errors)
    assert provider.calls.count("Kid is 5") == 2  # the first try and the retry with feedback


@pytest.mark.parametrize("edge", EDGES)
def test_inputs_in_every_accepted_shape(edge: str) -> None:
    provider = EchoProvider()
    inputs = [
        "Ann is 30",
        {"role": "user", "content": "Bob is 31"},
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Cid is 32"}],
        {"messages": "Dee is 33", "system": "Extract the person.", "options": {"seed": 1}},
    ]
    results = run(people(provider, system="You extract people."), inputs, edge)
    assert [r.value.name for r in results] == ["Ann", "Bob", "Cid", "Dee"]


@pytest.mark.parametrize("edge", EDGES)
def test_an_input_that_cannot_make_a_call_is_that_items_error(edge: str) -> None:
    provider = EchoProvider()
    inputs = ["Ann is 30", 42, {"nonsense": 1}, {"system": "no messages"}, "Bob is 31"]
    results = run(people(provider), inputs, edge)
    assert results[0].value.name == "Ann" and results[4].value.name == "Bob"
    assert isinstance(results[1], InvalidArgumentError) and "batch input 1" in str(results[1])
    assert isinstance(results[2], InvalidArgumentError) and "nonsense" in str(results[2])
    assert "No messages" in str(results[3])
    assert sorted(provider.calls) == ["Ann is 30", "Bob is 31"]


@pytest.mark.parametrize("edge", EDGES)
def test_a_transport_failure_is_the_items_error(edge: str) -> None:
    def fail(text: str) -> BaseException | None:
        return ServerError("down", status=500) if text.startswith("Bad") else None

    provider = EchoProvider(fail=fail)
    builder = people(provider).with_transport_retry_policy(
        TransportRetryPolicy(max_retries=1, initial_delay=0.0, jitter=False)
    )
    results = run(builder, ["Ann is 30", "Bad is 31", "Bob is 32"], edge)
    assert isinstance(results[1], ServerError) and results[1].status == 500
    assert provider.calls.count("Bad is 31") == 2  # one try + one transport retry
    assert results[2].value.name == "Bob"


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds_the_calls_in_flight(edge: str, concurrency: int) -> None:
    provider = EchoProvider(delay=lambda text: 0.03)
    inputs = [f"P{i} is {20 + i}" for i in range(9)]
    results = run(people(provider), inputs, edge, concurrency=concurrency)
    assert len(results) == 9
    assert provider.most_in_flight == concurrency


@pytest.mark.parametrize("edge", EDGES)
def test_default_concurrency_is_the_providers_else_eight(edge: str) -> None:
    provider = EchoProvider(delay=lambda text: 0.03)
    inputs = [f"P{i} is {20 + i}" for i in range(12)]
    run(people(provider), inputs, edge)
    assert provider.most_in_flight == DEFAULT_CONCURRENCY == 8
    provider.batch_concurrency = 2  # type: ignore[attr-defined]
    assert default_concurrency(provider) == 2
    provider.most_in_flight = 0
    run(people(provider), inputs, edge)
    assert provider.most_in_flight == 2


@pytest.mark.parametrize("edge", EDGES)
def test_progress_is_reported_at_the_start_and_after_every_item(edge: str) -> None:
    seen: list[tuple[int, int]] = []
    inputs = ["Ann is 30", 7, "Bob is 31", "Cid is 32"]
    run(people(EchoProvider()), inputs, edge, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]  # the bad input is done before the start


@pytest.mark.parametrize("edge", EDGES)
def test_a_failing_progress_callback_stops_the_batch_with_its_error(edge: str) -> None:
    provider = EchoProvider()

    def progress(done: int, total: int) -> None:
        if done == 2:
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        run(people(provider), [f"P{i} is 30" for i in range(10)], edge, concurrency=1, progress=progress)
    assert len(provider.calls) == 2  # nothing new started after the failing callback


@pytest.mark.parametrize("edge", EDGES)
def test_no_inputs_is_an_empty_list_without_resolving_the_provider(edge: str) -> None:
    builder = StructuredOutput().using("openai", api_key="sk-x").with_(response_model=Person)
    assert run(builder, [], edge) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": "Ann is 30"}, "wrap a single input in a list"),
        ({"inputs": {"messages": "x"}}, "wrap a single input in a list"),
        ({"inputs": 5}, "takes a list of inputs"),
        ({"inputs": ["x"], "concurrency": 0}, "concurrency must be an int >= 1"),
        ({"inputs": ["x"], "concurrency": True}, "concurrency must be an int >= 1"),
        ({"inputs": ["x"], "progress": "yes"}, "progress must be True"),
    ],
)
def test_wrong_arguments_to_batch_raise_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    provider = EchoProvider()
    with pytest.raises(InvalidArgumentError, match=message):
        people(provider).batch(**kwargs)
    assert provider.calls == []


def test_a_configuration_error_of_the_whole_batch_raises_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from instructor_py import MissingAPIKeyError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    builder = StructuredOutput().using("openai").with_(response_model=Person)
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        builder.batch(["Ann is 30"])


# -- the gate ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_closes_for_retry_after_and_never_shortens() -> None:
    clock = Clock()
    gate = RateGate(max_hold=10.0, clock=clock)
    assert gate.wait_time() == 0.0
    gate.note(RateLimitError("slow", retry_after=None))  # no Retry-After: nothing to honour
    gate.note(ValueError("not a transport error"))
    assert gate.wait_time() == 0.0 and gate.holds == 0
    gate.note(RateLimitError("slow", retry_after=2.0))
    assert gate.wait_time() == pytest.approx(2.0)
    clock.now += 0.5
    gate.note(RateLimitError("slow", retry_after=0.5))  # ends earlier than the current hold
    assert gate.wait_time() == pytest.approx(1.5) and gate.holds == 1
    gate.note(ServerError("busy", status=503, retry_after=60.0))  # capped at max_hold
    assert gate.wait_time() == pytest.approx(10.0) and gate.holds == 2
    clock.now += 11
    assert gate.wait_time() == 0.0


def test_the_gated_provider_is_the_inner_one_for_everything_but_the_wait() -> None:
    provider = EchoProvider()
    provider.enforces_schema = True  # type: ignore[attr-defined]
    gated = GatedProvider(provider, RateGate())
    assert (gated.name, gated.default_mode, gated.supported_modes) == (
        provider.name,
        provider.default_mode,
        provider.supported_modes,
    )
    assert gated.enforces_schema is True and gated.inner is provider


@pytest.mark.parametrize("edge", EDGES)
def test_a_retry_after_holds_back_the_other_items(edge: str) -> None:
    """Item 0 gets a 429 with Retry-After 0.3 s after 0.05 s; the other worker, done with item 1
    at 0.15 s, does not start item 2 until the 0.3 s are over (0.35 s)."""
    told = {"done": False}

    def fail(text: str) -> BaseException | None:
        if text.startswith("Ann") and not told["done"]:
            told["done"] = True
            return RateLimitError("slow down", retry_after=0.3)
        return None

    delays = {"Ann is 30": 0.05, "Bob is 31": 0.15}
    provider = EchoProvider(fail=fail, delay=lambda text: delays.get(text, 0.0))
    inputs = ["Ann is 30", "Bob is 31", "Cid is 32", "Dee is 33"]
    results = run(people(provider), inputs, edge, concurrency=2)
    assert [r.value.name for r in results] == ["Ann", "Bob", "Cid", "Dee"]
    start = provider.started["Ann is 30"]
    assert provider.started["Bob is 31"] - start < 0.05  # sent with Ann's first try
    assert provider.started["Cid is 32"] - start >= 0.34  # not at 0.15 s, when Bob was done
    assert provider.started["Dee is 33"] - start >= 0.34


# -- the progress bar -------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_redraws_one_line_on_a_terminal() -> None:
    out = Terminal()
    clock = Clock()
    bar = ProgressBar(out, label="extract", clock=clock)
    for done in range(0, 5):
        clock.now += 1
        bar(done, 4)
    text = out.getvalue()
    assert text.startswith("\rextract [") and text.endswith("\n") and text.count("\n") == 1
    assert "4/4 100%" in text and "1.0/s" in text and "ETA 3s" in text


def test_the_bar_writes_a_few_lines_elsewhere() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    for done in range(0, 101):
        bar(done, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("batch [########################] 100/100")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize("edge", EDGES)
def test_each_items_events_carry_its_index_in_the_request_id(edge: str) -> None:
    from instructor_py import Event, ResponseGenerated

    seen: list[Event] = []
    builder = people(EchoProvider()).on_event(ResponseGenerated, seen.append)
    run(builder, ["Ann is 30", "Bob is 31", "Cid is 32"], edge)
    ids = sorted(e.request_id for e in seen)
    assert [i.rsplit("-", 1)[1] for i in ids] == ["0", "1", "2"]
    assert len({i.rsplit("-", 1)[0] for i in ids}) == 1  # one batch id


@pytest.mark.parametrize("edge", EDGES)
def test_a_base_exception_in_a_call_reaches_the_caller(edge: str) -> None:
    def leave(value: Person) -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        run(people(EchoProvider()).with_validator(leave), ["Ann is 30", "Bob is 31"], edge)
