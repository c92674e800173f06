"""tenacity as the transport retry policy, end to end against the scripted loopback server:
``with_transport_retry(tenacity.Retrying(...))`` and ``with_transport_retry(stop=..., wait=...)``
drive the run loop's re-sends for get, aget, stream and astream alike (tenacity decides, the run
loop sleeps)."""

from __future__ import annotations

import time
from typing import Any

import pytest

tenacity = pytest.importorskip(
    "tenacity", reason="tenacity (the optional `tenacity` extra) is absent"
)

from instructor_py import (  # noqa: E402
    AuthenticationError,
    ConfigurationError,
    Event,
    RateLimitError,
    RetryScheduled,
    ServerError,
    StructuredOutput,
    TenacityRetry,
)
from instructor_py.common.modes import OutputMode  # noqa: E402
from tests.support.response_models import Adult  # noqa: E402
from tests.support.servers import Reply, ScriptedServer  # noqa: E402
from tests.support.servers import wire as w  # noqa: E402
from tests.support.wire_formats import API_KEY, OPENAI  # noqa: E402

pytestmark = pytest.mark.e2e

GOOD = {"name": "Jason", "age": 25}


def client(server: ScriptedServer) -> StructuredOutput[Any]:
    # no FAST_TRANSPORT here: the tenacity policy replaces the default one
    return StructuredOutput().using(
        "openai", api_key=API_KEY, base_url=server.openai_url, model=w.MODEL
    )


def transport_delays(seen: list[Event]) -> list[float]:
    return [e.delay for e in seen if isinstance(e, RetryScheduled) and e.kind == "transport"]


def test_stop_after_attempt_and_wait_fixed_are_honoured(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.error(503)] * 2 + [OPENAI.answer(GOOD, OutputMode.TOOLS)])
    seen: list[Event] = []
    retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_fixed(0.2))
    builder = client(scripted_server).with_transport_retry(retrying).wiretap(seen.append)
    started = time.monotonic()
    user = builder.with_(messages="Jason is 25", response_model=Adult).get()
    elapsed = time.monotonic() - started
    assert user.age == 25 and len(scripted_server.requests) == 3
    assert transport_delays(seen) == [0.2, 0.2]
    assert elapsed >= 0.4  # the run loop slept what tenacity decided


def test_stop_after_attempt_gives_up_with_the_original_error(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script([], default=Reply.error(503))
    builder = client(scripted_server).with_transport_retry(
        stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_none()
    )
    with pytest.raises(ServerError):
        builder.with_(messages="Jason is 25", response_model=Adult).get()
    assert len(scripted_server.requests) == 2  # stop_after_attempt(2): two tries in all


def test_wait_exponential_grows_and_retry_after_is_a_floor(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        [Reply.error(503)] * 3
        + [Reply.error(429, headers={"Retry-After": "0.3"}), OPENAI.answer(GOOD, OutputMode.TOOLS)]
    )
    seen: list[Event] = []
    builder = client(scripted_server).with_transport_retry(
        stop=tenacity.stop_after_attempt(6),
        wait=tenacity.wait_exponential(multiplier=0.01, max=1),
    )
    builder.wiretap(seen.append).with_(messages="Jason is 25", response_model=Adult).get()
    assert transport_delays(seen) == [0.01, 0.02, 0.04, 0.3]


def test_the_retry_predicate_picks_which_failures_are_re_sent(
    scripted_server: ScriptedServer,
) -> None:
    only_rate_limits = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RateLimitError),
        stop=tenacity.stop_after_attempt(5),
        wait=tenacity.wait_none(),
    )
    builder = client(scripted_server).with_transport_retry(only_rate_limits)
    builder = builder.with_(messages="Jason is 25", response_model=Adult)
    scripted_server.script([Reply.error(429), OPENAI.answer(GOOD, OutputMode.TOOLS)])
    assert builder.get().age == 25
    scripted_server.script([Reply.error(503), OPENAI.answer(GOOD, OutputMode.TOOLS)])
    with pytest.raises(ServerError):  # a 503 is not a rate limit: not re-sent
        builder.get()
    assert len(scripted_server.requests) == 3


def test_errors_that_retrying_cannot_fix_are_never_re_sent(scripted_server: ScriptedServer) -> None:
    scripted_server.script([], default=Reply.error(401, kind="authentication_error"))
    builder = client(scripted_server).with_transport_retry(
        tenacity.Retrying(stop=tenacity.stop_after_attempt(5))
    )
    with pytest.raises(AuthenticationError):
        builder.with_(messages="Jason is 25", response_model=Adult).get()
    assert len(scripted_server.requests) == 1


async def test_async_retrying_drives_aget_and_astream(scripted_server: ScriptedServer) -> None:
    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_fixed(0.01)
    )
    builder = (
        client(scripted_server)
        .with_transport_retry(retrying)
        .with_(messages="Jason is 25", response_model=Adult)
    )
    scripted_server.script([Reply.error(502), OPENAI.answer(GOOD, OutputMode.TOOLS)])
    assert (await builder.aget()).age == 25
    scripted_server.script(
        [Reply.error(500), Reply.error(500), OPENAI.answer(GOOD, OutputMode.TOOLS)]
    )
    partials = [p async for p in builder.astream().partials()]
    assert partials[-1].age == 25
    scripted_server.script([], default=Reply.error(500))
    with pytest.raises(ServerError):
        await builder.aget()
    assert len(scripted_server.requests) == 2 + 3 + 3


def test_streams_use_the_policy_too(scripted_server: ScriptedServer) -> None:
    scripted_server.script([Reply.error(503), OPENAI.answer(GOOD, OutputMode.TOOLS)])
    seen: list[Event] = []
    builder = client(scripted_server).with_transport_retry(
        stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_fixed(0.01)
    )
    stream = (
        builder.wiretap(seen.append).with_(messages="Jason is 25", response_model=Adult).stream()
    )
    assert stream.final_value().age == 25
    assert transport_delays(seen) == [0.01]
    assert all(r.json["stream"] for r in scripted_server.requests)


def test_stop_after_delay_reads_the_policy_clock(scripted_server: ScriptedServer) -> None:
    now = [100.0]

    def clock() -> float:
        now[0] += 4.0  # every reading is 4 s later: the tries look slow
        return now[0]

    scripted_server.script([], default=Reply.error(503))
    policy = TenacityRetry(
        stop=tenacity.stop_after_delay(10), wait=tenacity.wait_none(), clock=clock
    )
    with pytest.raises(ServerError):
        client(scripted_server).with_transport_retry(policy).with_(
            messages="x", response_model=Adult
        ).get()
    # start at 104; failures read 108 (4 s: go on), 112 (8 s: go on), 116 (12 s > 10: stop)
    assert len(scripted_server.requests) == 3


def test_before_sleep_sees_tenacitys_state(scripted_server: ScriptedServer) -> None:
    calls: list[tuple[int, float, str]] = []

    def before_sleep(state: Any) -> None:
        calls.append(
            (
                state.attempt_number,
                state.next_action.sleep,
                type(state.outcome.exception()).__name__,
            )
        )

    scripted_server.script(
        [Reply.error(503), Reply.error(429), OPENAI.answer(GOOD, OutputMode.TOOLS)]
    )
    client(scripted_server).with_transport_retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_fixed(0.01),
        before_sleep=before_sleep,
    ).with_(messages="Jason is 25", response_model=Adult).get()
    assert calls == [(1, 0.01, "ServerError"), (2, 0.01, "RateLimitError")]


def test_strategies_that_need_awaiting_are_refused() -> None:
    async def async_stop(state: Any) -> bool:
        return False

    with pytest.raises(ConfigurationError, match="async"):
        StructuredOutput().with_transport_retry(stop=async_stop)
    with pytest.raises(ConfigurationError, match="tenacity"):
        TenacityRetry(retrying=object())
    from instructor_py import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="tenacity"):
        StructuredOutput().with_transport_retry(object())
