"""Load with faults: many concurrent requests against the scripted loopback server while it injects
seeded faults, then the books are balanced. Used by ``tests/reliability/test_load_faults.py``
(1,000 requests) and ``benchmarks/soak.py`` (longer runs).

The fault for each HTTP hit is a pure function of (seed, request id, hit number), so a run is
reproducible whatever the thread timing. Request ``i`` says ``request #i`` in its first user
message; the server answers it with its own id, so a crossed or duplicated answer shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from instructor_py import InstructorError, Sequence, StructuredOutput, StructuredOutputRetryError
from instructor_py.common.usage import Usage
from instructor_py.providers.registry import create_provider
from instructor_py.run.transport import TransportRetryPolicy
from tests.support.servers import RecordedRequest, Reply, ScriptedServer
from tests.support.servers import wire as w

TRANSPORT_FAULTS = (
    "429_retry_after", "429", "500", "502", "503", "reset", "read_timeout", "stream_cut",
)  # fmt: skip
MODEL_FAULTS = ("invalid_json", "invalid_value", "truncated")
FAULTS = TRANSPORT_FAULTS + MODEL_FAULTS

CLIENT_TIMEOUT_S = 2.0  # generous: a loaded machine must not turn good replies into timeouts
SLOW_REPLY_S = 3.0  # a read_timeout fault answers after this (the client gave up at 2 s)
MAX_RETRIES = 2  # validation retries: three model answers at most
TRANSPORT = TransportRetryPolicy(max_retries=8, initial_delay=0.002, max_delay=0.02)
API_KEY = "sk-load-SECRET-0123456789abcdefghij"

_ID = re.compile(r"request #(\d+)")


class Item(BaseModel):
    id: int
    name: str


class Piece(BaseModel):
    id: int
    k: int


PIECES = 3


def item_of(i: int) -> Item:
    return Item(id=i, name=f"user-{i}")


def pieces_of(i: int) -> list[Piece]:
    return [Piece(id=i, k=k) for k in range(PIECES)]


@dataclass
class FaultServer:
    """The responder of a :class:`ScriptedServer`: decides each hit's fault and keeps the books
    (what was injected, which answers were delivered in full, the usage they reported)."""

    seed: int
    rate: float = 0.10
    doomed: frozenset[int] = frozenset()  # ids answered invalid every time (retries run out)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: Counter[int] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    model_answers: Counter[int] = field(default_factory=Counter)  # complete replies, per id
    good_answers: Counter[int] = field(default_factory=Counter)
    usage: Counter[str] = field(default_factory=Counter)  # input/output tokens delivered

    def fault_for(self, i: int, hit: int) -> str | None:
        if i in self.doomed:
            return "invalid_value"
        rng = random.Random(f"{self.seed}:{i}:{hit}")
        return rng.choice(FAULTS) if rng.random() < self.rate else None

    def __call__(self, request: RecordedRequest) -> Reply:
        body = request.json
        first_user = next(m for m in body["messages"] if m["role"] == "user")
        match = _ID.search(str(first_user["content"]))
        assert match is not None, first_user
        i = int(match.group(1))
        stream = bool(body.get("stream"))  # get() streams too (to check the answer as it arrives)
        function = body["tools"][0]["function"]
        tool = function["name"]
        sequence = "items" in function["parameters"].get("properties", {})
        with self.lock:
            self.hits[i] += 1
            hit = self.hits[i]
        fault = self.fault_for(i, hit)
        usage = (10 + i % 5, 3 + hit % 4)
        if fault is None:
            args = json.dumps({"items": [p.model_dump() for p in pieces_of(i)]} if sequence else item_of(i).model_dump())
            finish = "tool_calls"
        elif fault == "invalid_json":
            args, finish = '{"id": ' + str(i) + ', "name": ', "tool_calls"
        elif fault == "invalid_value":
            bad = {"items": [{"id": i, "k": 0}, {"id": i, "k": "one"}]} if sequence else {"id": "abc", "name": 5}
            args, finish = json.dumps(bad), "tool_calls"
        elif fault == "truncated":
            args, finish = '{"id": ' + str(i), "length"
        else:
            with self.lock:
                self.injected[fault] += 1
            return self._transport_fault(fault, i, stream, sequence, tool)
        with self.lock:
            if fault is not None:
                self.injected["doomed" if i in self.doomed else fault] += 1
            self.model_answers[i] += 1
            self.good_answers[i] += fault is None
            # every answer here is shorter than the streaming check's batch: a wrong-typed value
            # arrives whole, is judged by the pipeline, and its usage is delivered
            self.usage["input"] += usage[0]
            self.usage["output"] += usage[1]
        if stream:
            events = w.openai_stream(tool_args=args, tool_name=tool, piece=7, finish=False, usage=None)
            events += _finish_events(finish, usage)
            return Reply.sse(events, chunk_sizes=(24, 96), seed=hit)
        return Reply.json(w.openai_chat(tool_args=args, tool_name=tool, usage=usage, finish=finish))

    def _transport_fault(self, fault: str, i: int, stream: bool, sequence: bool, tool: str) -> Reply:
        if fault == "429_retry_after":
            return Reply.error(429, "slow down", kind="rate_limit", headers={"Retry-After": "0"})
        if fault == "429":
            return Reply.error(429, "slow down", kind="rate_limit")
        if fault in ("500", "502", "503"):
            return Reply.error(int(fault), "server trouble", kind="server_error")
        if fault == "reset":
            return Reply.connection_reset()
        args = json.dumps({"items": [p.model_dump() for p in pieces_of(i)]} if sequence else item_of(i).model_dump())
        if stream:
            events = w.openai_stream(tool_args=args, tool_name=tool, piece=7, finish=False, usage=None)
            events += _finish_events("tool_calls", (1, 1))
            if fault == "read_timeout":
                return Reply.sse(events, chunk_sizes=(24, 96), delay=SLOW_REPLY_S)
            full = Reply.sse(events, chunk_sizes=(24, 96))
            return Reply.sse(events, chunk_sizes=(24, 96), cut_after=len(full.body) // 2)
        body = w.openai_chat(tool_args=args, tool_name=tool, usage=(1, 1))
        if fault == "read_timeout":
            return Reply.json(body, delay=SLOW_REPLY_S)
        return Reply.json(body, cut_after=len(json.dumps(body)) // 2)


def _finish_events(finish: str, usage: tuple[int, int]) -> list[Any]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": w.MODEL}
    return [
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        {**base, "choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}},
        "[DONE]",
    ]


# --- running and judging -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How request ``i`` ended: ``value`` / ``retry_error`` / ``error`` (another typed error) /
    ``crash`` (anything not ours: always a defect)."""

    i: int
    kind: str
    value: Any = None
    usage: Usage = Usage()
    attempts: int = 0
    attempt_errors: tuple[tuple[str, ...], ...] = ()
    yielded: tuple[Any, ...] = ()
    error: str = ""


def _client(server: ScriptedServer) -> tuple[Any, StructuredOutput[Any]]:
    provider = create_provider("openai", base_url=server.openai_url, api_key=API_KEY, model=w.MODEL, timeout=CLIENT_TIMEOUT_S)
    so = StructuredOutput().with_provider(provider).with_transport_retry_policy(TRANSPORT)
    return provider, so.with_(max_retries=MAX_RETRIES)


def _failed(i: int, exc: BaseException, yielded: Iterable[Any] = ()) -> Outcome:
    if isinstance(exc, StructuredOutputRetryError):
        errors = tuple(a.errors for a in exc.attempts)
        return Outcome(i, "retry_error", usage=exc.usage, attempts=len(exc.attempts), attempt_errors=errors, yielded=tuple(yielded), error=str(exc))
    kind = "error" if isinstance(exc, InstructorError) else "crash"
    return Outcome(i, kind, yielded=tuple(yielded), error=f"{type(exc).__name__}: {exc}")


def run_async(server: ScriptedServer, ids: list[int], concurrency: int) -> list[Outcome]:
    """``aresponse()`` for every id, ``concurrency`` at a time, on one event loop."""
    provider, so = _client(server)

    async def one(i: int, gate: asyncio.Semaphore) -> Outcome:
        async with gate:
            try:
                r = await so.with_(messages=f"request #{i}: who is it?", response_model=Item).aresponse()
            except BaseException as exc:  # judged by the caller
                return _failed(i, exc)
            return Outcome(i, "value", r.value, r.usage, len(r.attempts))

    async def main() -> list[Outcome]:
        gate = asyncio.Semaphore(concurrency)
        try:
            return list(await asyncio.gather(*(one(i, gate) for i in ids)))
        finally:
            await provider.aclose()

    return asyncio.run(main())


def run_threads_streaming(server: ScriptedServer, ids: list[int], concurrency: int) -> list[Outcome]:
    """``stream().sequence()`` for every id from ``concurrency`` threads (one shared client)."""
    provider, so = _client(server)

    def one(i: int) -> Outcome:
        yielded: list[Any] = []
        try:
            stream = so.with_(messages=f"request #{i}: list the pieces", response_model=Sequence.of(Piece)).stream()
            for piece in stream.sequence():
                yielded.append(piece)
            r = stream.final_response()
        except BaseException as exc:  # judged by the caller
            return _failed(i, exc, yielded)
        return Outcome(i, "value", r.value, r.usage, len(r.attempts), yielded=tuple(yielded))

    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="load") as pool:
            return list(pool.map(one, ids))
    finally:
        provider.close()


def judge(outcomes: list[Outcome], ids: list[int], faults: FaultServer, expected: Callable[[int], Any]) -> list[str]:
    """Every broken promise, as text (empty: the books balance)."""
    problems: list[str] = []
    by_id = Counter(o.i for o in outcomes)
    lost = [i for i in ids if by_id[i] == 0]
    twice = [i for i, n in by_id.items() if n > 1]
    if lost or twice:
        problems.append(f"lost {lost[:5]}, answered twice {twice[:5]}")
    total = Usage()
    for o in outcomes:
        total = total + o.usage
        if o.kind == "crash" or o.kind == "error":
            problems.append(f"#{o.i}: {o.kind} {o.error[:200]}")
            continue
        if o.kind == "value" and o.value != expected(o.i):
            problems.append(f"#{o.i}: got {o.value!r}")
        if o.kind == "retry_error" and (o.attempts != MAX_RETRIES + 1 or not all(o.attempt_errors)):
            problems.append(f"#{o.i}: retry error with {o.attempts} attempts {o.attempt_errors}")
        if o.attempts != faults.model_answers[o.i]:
            problems.append(f"#{o.i}: {o.attempts} attempts, the server delivered {faults.model_answers[o.i]} answers")
        if faults.good_answers[o.i] > 1 or (o.kind == "value") != (faults.good_answers[o.i] == 1):
            problems.append(f"#{o.i}: {o.kind} after {faults.good_answers[o.i]} good answers")
        if o.yielded and (len(set(map(repr, o.yielded))) != len(o.yielded) or (o.kind == "value" and list(o.yielded) != list(o.value))):
            problems.append(f"#{o.i}: sequence() yielded {o.yielded!r}")
    server_usage = Usage(input_tokens=faults.usage["input"], output_tokens=faults.usage["output"])
    if (total.input_tokens, total.output_tokens) != (server_usage.input_tokens, server_usage.output_tokens):
        problems.append(f"usage: the SDK summed {total}, the server sent {server_usage}")
    return problems


# --- resources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    fds: int
    threads: int
    sockets: int
    rss_mb: float

    @classmethod
    def now(cls) -> Resources:
        import psutil

        proc = psutil.Process()
        return cls(
            fds=len(os.listdir("/proc/self/fd")),
            threads=threading.active_count(),
            sockets=len(proc.net_connections(kind="inet")),
            rss_mb=proc.memory_info().rss / 2**20,
        )


def settle(baseline: Resources, timeout_s: float = 10.0) -> Resources:
    """Resources once the server's handler threads and closed sockets have gone (polls)."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = Resources.now()
        done = now.fds <= baseline.fds and now.threads <= baseline.threads and now.sockets <= baseline.sockets
        if done or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


@dataclass(frozen=True)
class RunReport:
    name: str
    requests: int
    seconds: float
    outcomes: Counter[str]
    injected: Counter[str]
    http_hits: int
    problems: list[str]
    before: Resources
    after: Resources


def load_run(name: str, runner: Callable[[ScriptedServer, list[int], int], list[Outcome]], *, requests: int, concurrency: int, seed: int, doomed_every: int = 50) -> RunReport:
    ids = list(range(requests))
    faults = FaultServer(seed=seed, doomed=frozenset(i for i in ids if i % doomed_every == 7))
    expected = item_of if runner is run_async else pieces_of
    with ScriptedServer() as server:
        server.respond_with(faults)
        before = Resources.now()
        t0 = time.perf_counter()
        outcomes = runner(server, ids, concurrency)
        seconds = time.perf_counter() - t0
        problems = judge(outcomes, ids, faults, expected)
        hits = len(server.requests)
        server.clear_requests()
        after = settle(before)
    return RunReport(name, requests, seconds, Counter(o.kind for o in outcomes), faults.injected, hits, problems, before, after)


def format_report(reports: list[RunReport]) -> str:
    kinds = [*FAULTS, "doomed"]
    lines = [
        "| run | requests | HTTP hits | " + " | ".join(kinds) + " | values | retry errors | other errors | lost / twice | usage balanced | fds | threads | sockets | RSS MB start -> end | s |",
        "|" + "---|" * (len(kinds) + 14),
    ]
    for r in reports:
        usage_ok = not any(p.startswith("usage") for p in r.problems)
        lost = next((p for p in r.problems if p.startswith("lost")), "0 / 0")
        lines.append(
            f"| {r.name} | {r.requests} | {r.http_hits} | "
            + " | ".join(str(r.injected[k]) for k in kinds)
            + f" | {r.outcomes['value']} | {r.outcomes['retry_error']} | {r.outcomes['error'] + r.outcomes['crash']}"
            + f" | {lost} | {'yes' if usage_ok else 'NO'}"
            + f" | {r.before.fds} -> {r.after.fds} | {r.before.threads} -> {r.after.threads} | {r.before.sockets} -> {r.after.sockets}"
            + f" | {r.before.rss_mb:.0f} -> {r.after.rss_mb:.0f} | {r.seconds:.1f} |"
        )
    return "\n".join(lines)
