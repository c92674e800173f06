"""200 requests, 8 at a time, on the local provider with cancellations mid-stream (a thread's
close() and an event loop's task.cancel()): the model lock and the KV cache survive every one;
each completed request and the requests after the run give exactly the greedy answer."""

from __future__ import annotations

import pytest

from tests.support.load_local import format_local, run_local
from tests.support.smollm2 import needs_model

pytestmark = [needs_model, pytest.mark.timeout(600), pytest.mark.slow]


def test_local_load_with_cancellations_keeps_the_greedy_answer() -> None:
    report = run_local(requests=200, concurrency=8)
    print("\n" + format_local(report))
    assert report.problems == []
    assert report.outcomes["value"] == 120
    assert report.outcomes["cancelled"] == 40
    # a task may finish before its cancel lands; most must really be cancelled mid-stream
    assert report.outcomes["task_cancelled"] + report.outcomes["finished_before_cancel"] == 40
    assert report.outcomes["task_cancelled"] >= 20
