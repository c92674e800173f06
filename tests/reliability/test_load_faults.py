"""1,000 requests, 32 at a time, async and from threads (streaming ``sequence()``), against the
scripted loopback server injecting about 10% seeded faults of every kind; then the books must
balance: nothing lost or answered twice, every error typed and carrying all its attempts, usage
sums equal to the server's, no socket / thread / fd left behind. ``benchmarks/soak.py`` runs the
long version and prints the table of docs/reliability.md."""

from __future__ import annotations

from collections import Counter

import pytest

from instructor_py.common.usage import Usage
from tests.support.load import (
    FAULTS,
    MAX_RETRIES,
    FaultServer,
    Outcome,
    format_report,
    item_of,
    judge,
    load_run,
    run_async,
    run_threads_streaming,
)

pytest.importorskip("psutil", reason="psutil (dev extra) counts sockets and RSS")
pytestmark = [pytest.mark.timeout(300), pytest.mark.e2e]

REQUESTS = 1000
CONCURRENCY = 32
SEED = 14


@pytest.mark.parametrize("runner", [run_async, run_threads_streaming], ids=["async", "threads-streaming"])
def test_load_with_faults_balances_the_books(runner: object) -> None:
    load_run("warm-up", runner, requests=40, concurrency=8, seed=SEED + 1)  # type: ignore[arg-type]
    report = load_run("load", runner, requests=REQUESTS, concurrency=CONCURRENCY, seed=SEED)  # type: ignore[arg-type]
    print("\n" + format_report([report]))
    assert report.problems == []
    # every kind of fault was injected, about 10% of hits overall (plus the doomed requests)
    assert all(report.injected[kind] > 0 for kind in FAULTS), report.injected
    random_faults = sum(report.injected[k] for k in FAULTS)
    assert 0.05 * report.http_hits < random_faults < 0.15 * report.http_hits
    assert report.outcomes["value"] + report.outcomes["retry_error"] == REQUESTS
    assert report.outcomes["retry_error"] >= REQUESTS // 50  # the doomed ones at least
    # nothing left behind: the client's pool is closed and the server's threads are gone
    assert report.after.fds <= report.before.fds, (report.before, report.after)
    assert report.after.threads <= report.before.threads, (report.before, report.after)
    assert report.after.sockets <= report.before.sockets, (report.before, report.after)
    assert report.after.rss_mb - report.before.rss_mb < 64, (report.before, report.after)


def test_the_fault_plan_is_reproducible() -> None:
    a, b = FaultServer(seed=SEED), FaultServer(seed=SEED)
    plan = [a.fault_for(i, hit) for i in range(300) for hit in (1, 2)]
    assert plan == [b.fault_for(i, hit) for i in range(300) for hit in (1, 2)]
    assert plan != [FaultServer(seed=SEED + 1).fault_for(i, hit) for i in range(300) for hit in (1, 2)]
    assert set(plan) - {None} == set(FAULTS) - {None} or len(set(plan)) > 5


def test_the_judge_catches_broken_books() -> None:
    """The checks above could pass vacuously if judge() found nothing ever: feed it bad books."""
    faults = FaultServer(seed=SEED)
    faults.model_answers.update({0: 1, 1: 1, 2: MAX_RETRIES + 1})
    faults.good_answers.update({0: 1, 1: 1})
    faults.usage.update({"input": 30, "output": 15})
    good = [
        Outcome(0, "value", item_of(0), Usage(10, 5), 1),
        Outcome(1, "value", item_of(1), Usage(10, 5), 1),
        Outcome(2, "retry_error", None, Usage(10, 5), MAX_RETRIES + 1, (("bad",),) * (MAX_RETRIES + 1)),
    ]
    assert judge(good, [0, 1, 2], faults, item_of) == []
    cases = {
        "lost": good[:2],
        "twice": [*good, good[0]],
        "crossed": [Outcome(0, "value", item_of(1), Usage(10, 5), 1), *good[1:]],
        "usage": [Outcome(0, "value", item_of(0), Usage(11, 5), 1), *good[1:]],
        "attempts": [*good[:2], Outcome(2, "retry_error", None, Usage(10, 5), 2, (("bad",),) * 2)],
        "crash": [*good[:2], Outcome(2, "crash", error="KeyError: x")],
    }
    found = Counter()
    for name, outcomes in cases.items():
        problems = judge(outcomes, [0, 1, 2], faults, item_of)
        assert problems, f"judge() missed the {name} case"
        found[name] += 1
    assert len(found) == len(cases)
