"""Provider batch jobs end to end: ``StructuredOutput().using(...).submit_batch(...)`` against the
loopback batch API (:mod:`tests.support.batch_api`), through the official openai SDK for OpenAI
and our httpx client for Anthropic; resume from the store, a kill right after the create, repair."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from instructor_py import (
    BatchItemError,
    BatchJob,
    BatchJobError,
    BatchJobTimeoutError,
    ConfigurationError,
    InvalidArgumentError,
    JobStore,
    StructuredOutput,
    StructuredOutputRetryError,
)
from instructor_py.run.events import InferenceRequested
from tests.support.batch_api import BatchAPIServer
from tests.support.batch_models import Person

VENDORS = ("openai", "anthropic")
KEY = "sk-test-key-abcdef0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[BatchAPIServer]:
    with BatchAPIServer(steps_to_finish=3) as running:
        yield running


def base_url(server: BatchAPIServer, vendor: str) -> str:
    return server.base_url + ("/v1" if vendor == "openai" else "")


def builder(server: BatchAPIServer, vendor: str, **parts: Any) -> StructuredOutput[Person]:
    return (
        StructuredOutput()
        .using(vendor, api_key=KEY, base_url=base_url(server, vendor))
        .with_(response_model=Person, max_retries=parts.pop("max_retries", 1), **parts)
    )


def uploaded_lines(server: BatchAPIServer, vendor: str) -> list[dict[str, Any]]:
    """The request lines as the server received them."""
    if vendor == "openai":
        (_name, data), *_ = [f for f in server.files.values() if f[0].startswith("ipj")]
        return [json.loads(line) for line in data.decode().splitlines()]
    (batch,) = server.batches.values()
    return batch.requests


@pytest.mark.parametrize("vendor", VENDORS)
def test_round_trip_in_input_order_through_the_live_pipeline(
    server: BatchAPIServer, vendor: str, tmp_path: Path
) -> None:
    inputs = ["Ann is 30", "Bob is 41 BAD", "Cid is 9 FAIL", {"messages": "Dee is 5", "system": "Be exact."}]
    job = builder(server, vendor).submit_batch(inputs, store=tmp_path / "jobs.sqlite")
    assert job.status().state in ("validating", "in_progress", "finalizing")
    with pytest.raises(BatchJobError, match=r"call job\.wait"):
        job.results()  # not ended yet
    seen: list[tuple[int, int]] = []
    status = job.wait(poll_interval=0.01, timeout=10, progress=lambda done, total: seen.append((done, total)))
    assert status.done and status.state == "completed" and status.total == 4
    assert seen[-1] == (4, 4)

    results = job.results()
    assert [type(r).__name__ for r in results] == [
        "StructuredOutputResponse",
        "StructuredOutputRetryError",
        "BatchItemError",
        "StructuredOutputResponse",
    ]
    first = results[0]
    assert not isinstance(first, Exception)
    assert first.value == Person(name="Ann", age=30)
    assert first.usage.input_tokens == 11 and first.usage.output_tokens == 7
    assert json.loads(first.raw_text) == {"name": "Ann", "age": 30}
    assert isinstance(results[3], Exception) is False and results[3].value == Person(name="Dee", age=5)  # type: ignore[union-attr]

    invalid = results[1]  # the answer, carried by the error (no repair asked)
    assert isinstance(invalid, StructuredOutputRetryError)
    assert len(invalid.attempts) == 1
    assert json.loads(invalid.attempts[0].content) == {"name": "Bob", "age": "very old"}
    assert invalid.attempts[0].raw_response is not None

    refused = results[2]
    assert isinstance(refused, BatchItemError)
    assert refused.custom_id == f"{job.id}-2"
    assert refused.code == "invalid_request_error"
    assert refused.raw is not None and "the request was refused" in str(refused)
    assert server.count(f"{vendor}.live") == 0  # nothing re-asked without repair=True
    assert [d.repaired for d in job.details()] == [False] * 4


@pytest.mark.parametrize("vendor", VENDORS)
def test_request_lines_are_the_live_requests_with_stable_custom_ids(
    server: BatchAPIServer, vendor: str, tmp_path: Path
) -> None:
    b = builder(server, vendor).with_options(temperature=0)
    job = b.submit_batch(["Ann is 30", "Bob is 41"], store=tmp_path / "jobs.sqlite")
    lines = uploaded_lines(server, vendor)
    assert [line["custom_id"] for line in lines] == [f"{job.id}-0", f"{job.id}-1"]
    b.with_messages("Bob is 41").with_(check_stream=False).get()  # the same input, live
    live = server.live_bodies[-1]
    if vendor == "openai":
        assert all(line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
        batch_body = lines[1]["body"]
        (batch,) = server.batches.values()
        assert batch.metadata == {"instructor_py_job": job.id}
    else:
        batch_body = lines[1]["params"]
    assert batch_body == live  # exactly what a live call sends


@pytest.mark.parametrize("vendor", VENDORS)
def test_repair_reasks_failed_items_live_with_the_errors(
    server: BatchAPIServer, vendor: str, tmp_path: Path
) -> None:
    store = tmp_path / "jobs.sqlite"
    job = builder(server, vendor, max_retries=2).submit_batch(
        ["Ann is 30", "Bob is 41 BAD", "Eve is 7 JUNK", "Cid is 9 FAIL"], store=store, repair=True
    )
    job.wait(poll_interval=0.01, timeout=10)
    details = job.details()
    assert [d.repaired for d in details] == [False, True, False, False]
    assert details[1].value == Person(name="Bob", age=41)
    assert details[1].response is not None
    assert len(details[1].response.attempts) == 2  # the batch answer, then the live one
    assert "very old" in details[1].response.attempts[0].content
    (feedback,) = [json.dumps(body) for body in server.live_bodies if "Bob" in json.dumps(body)]
    assert "age" in feedback and "very old" in feedback  # the failed answer and its errors fed back
    still_bad = details[2].error  # every live retry failed too: all attempts carried
    assert isinstance(still_bad, StructuredOutputRetryError) and len(still_bad.attempts) == 3
    assert isinstance(details[3].error, BatchItemError)  # a provider error is not re-asked
    live_calls = server.count(f"{vendor}.live")
    assert live_calls == 1 + 2
    assert job.repaired == (1,)

    again = BatchJob.resume(job.id, store=store, api_key=KEY)  # another reader: the repair is stored
    assert [d.repaired for d in again.details()] == [False, True, False, False]
    assert again.details()[1].value == Person(name="Bob", age=41)
    assert server.count(f"{vendor}.live") == live_calls + 2  # only the unrepaired JUNK item again


@pytest.mark.parametrize("vendor", VENDORS)
def test_expired_batch_answers_what_ran_and_marks_the_rest(tmp_path: Path, vendor: str) -> None:
    with BatchAPIServer(expire_after=2) as server:
        job = builder(server, vendor).submit_batch(
            ["Ann is 30", "Bob is 41", "Cid is 9", "Dee is 5"], store=tmp_path / "j.sqlite"
        )
        status = job.wait(poll_interval=0.01, timeout=10)
        assert status.state == "expired"
        results = job.results()
    assert [r.value for r in results[:2]] == [Person(name="Ann", age=30), Person(name="Bob", age=41)]  # type: ignore[union-attr]
    for result in results[2:]:
        assert isinstance(result, BatchItemError)
        assert result.code == ("batch_expired" if vendor == "openai" else "expired")


@pytest.mark.parametrize("vendor", VENDORS)
def test_cancel(server: BatchAPIServer, vendor: str, tmp_path: Path) -> None:
    job = builder(server, vendor).submit_batch(["Ann is 30", "Bob is 41", "Cid is 9"], store=tmp_path / "j.sqlite")
    assert job.cancel().state == "cancelling"
    assert job.wait(poll_interval=0.01, timeout=10).state == "cancelled"
    results = job.results()
    assert results[0].value == Person(name="Ann", age=30)  # type: ignore[union-attr]
    codes = [r.code for r in results[1:] if isinstance(r, BatchItemError)]
    assert codes == (["batch_cancelled"] * 2 if vendor == "openai" else ["canceled"] * 2)
    assert server.count(f"{vendor}.cancel") == 1


def test_a_failed_openai_batch_gives_every_item_its_error(tmp_path: Path) -> None:
    with BatchAPIServer(fail_validation=True) as server:
        job = builder(server, "openai").submit_batch(["Ann is 30", "Bob is 41"], store=tmp_path / "j.sqlite")
        assert job.wait(poll_interval=0.01, timeout=10).state == "failed"
        results = job.results()
    assert all(isinstance(r, BatchItemError) and r.code == "missing" for r in results)
    assert "invalid_json_line" in str(results[0])


def test_wait_times_out_and_the_job_goes_on(tmp_path: Path) -> None:
    with BatchAPIServer(steps_to_finish=1000) as server:
        job = builder(server, "openai").submit_batch(["Ann is 30"], store=tmp_path / "j.sqlite")
        with pytest.raises(BatchJobTimeoutError) as caught:
            job.wait(poll_interval=0.01, timeout=0.2)
        assert caught.value.status is not None and not caught.value.status.done
        assert server.count("openai.create") == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_resume_in_a_new_reader_reads_stored_results_without_downloading_again(
    server: BatchAPIServer, vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "jobs.sqlite"
    job = builder(server, vendor).submit_batch(["Ann is 30", "Bob is 41"], store=store)
    job_id = job.id
    del job
    monkeypatch.setenv("OPENAI_API_KEY" if vendor == "openai" else "ANTHROPIC_API_KEY", KEY)
    resumed = BatchJob.resume(job_id, store=store)
    resumed.wait(poll_interval=0.01, timeout=10)
    first = [r.value for r in resumed.results()]  # type: ignore[union-attr]
    downloads = server.count("openai.download") + server.count("anthropic.results")
    third = BatchJob.resume(job_id, store=JobStore(store))
    assert [r.value for r in third.results()] == first == [Person(name="Ann", age=30), Person(name="Bob", age=41)]  # type: ignore[union-attr]
    assert isinstance(first[0], Person)  # the class came back by its import path
    assert server.count("openai.download") + server.count("anthropic.results") == downloads
    assert server.count(f"{vendor}.create") == 1
    assert KEY.encode() not in store.read_bytes()  # the key is never stored
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("vendor", VENDORS)
def test_killed_right_after_the_create_is_resumed_without_a_second_create(
    vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child submits; the server creates the batch and holds the answer; the child is
    SIGKILLed before it could record the remote id; this process resumes the job."""
    store = tmp_path / "jobs.sqlite"
    with BatchAPIServer() as server:
        import threading

        server.hold_create = threading.Event()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("OPENAI_API_KEY", None)
        env.pop("ANTHROPIC_API_KEY", None)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.batch_submit_child", vendor, base_url(server, vendor), str(store), "5"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        try:
            assert server.created.wait(timeout=60), child.stderr.read() if child.stderr else ""
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
            server.hold_create.set()
        (job_id,) = JobStore(store).job_ids()
        assert JobStore(store).job(job_id).remote_id is None  # the create's answer never arrived
        monkeypatch.setenv("OPENAI_API_KEY" if vendor == "openai" else "ANTHROPIC_API_KEY", KEY)
        job = BatchJob.resume(job_id, store=store)
        assert job.remote_id == next(iter(server.batches))
        job.wait(poll_interval=0.01, timeout=10)
        values = [r.value for r in job.results()]  # type: ignore[union-attr]
        assert server.count(f"{vendor}.create") == 1
        assert values == [Person(name=f"Person{chr(97 + i)}".capitalize(), age=20 + i) for i in range(5)]


@pytest.mark.parametrize("vendor", VENDORS)
def test_resume_before_the_create_submits_once(
    server: BatchAPIServer, vendor: str, tmp_path: Path
) -> None:
    """A job recorded but never sent (the process died before the upload) is submitted by the
    resume, once; resuming again finds it instead of submitting again."""
    store = JobStore(tmp_path / "jobs.sqlite")
    b = builder(server, vendor)
    from instructor_py.client import batch_job

    original = batch_job.BatchJob._send

    def died_before_sending(self: Any, *, lookup: bool) -> None:
        raise KeyboardInterrupt

    batch_job.BatchJob._send = died_before_sending  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            b.submit_batch(["Ann is 30"], store=store)
    finally:
        batch_job.BatchJob._send = original  # type: ignore[method-assign]
    (job_id,) = store.job_ids()
    assert server.count(f"{vendor}.create") == 0
    first = BatchJob.resume(job_id, store=store, api_key=KEY)
    assert server.count(f"{vendor}.create") == 1
    second = BatchJob.resume(job_id, store=store, api_key=KEY)
    assert second.remote_id == first.remote_id and server.count(f"{vendor}.create") == 1


def test_events_name_each_item_by_its_custom_id(server: BatchAPIServer, tmp_path: Path) -> None:
    seen: list[str] = []
    b = builder(server, "openai").on_event(InferenceRequested, lambda e: seen.append(e.request_id))
    job = b.submit_batch(["Ann is 30", "Bob is 41"], store=tmp_path / "j.sqlite")
    job.wait(poll_interval=0.01, timeout=10)
    job.results()
    assert sorted(seen) == [f"{job.id}-0", f"{job.id}-1"]


def test_bad_submissions_fail_before_anything_is_sent(server: BatchAPIServer, tmp_path: Path) -> None:
    store = tmp_path / "j.sqlite"
    with pytest.raises(ConfigurationError, match="no batch API"):
        StructuredOutput().using("local").with_(response_model=Person).submit_batch(["x"], store=store)
    with pytest.raises(InvalidArgumentError, match="at least one input"):
        builder(server, "openai").submit_batch([], store=store)
    with pytest.raises(InvalidArgumentError, match="list of inputs"):
        builder(server, "openai").submit_batch("Ann is 30", store=store)
    with pytest.raises(InvalidArgumentError, match="input 1"):
        builder(server, "openai").submit_batch(["Ann is 30", 42], store=store)
    with pytest.raises(BatchJobError, match="no batch job"):
        BatchJob.resume("ipj-missing", store=store)
    assert server.calls == {}


def test_a_builder_with_validators_is_resumed_with_it(server: BatchAPIServer, tmp_path: Path) -> None:
    store = tmp_path / "j.sqlite"

    def adult(person: Person) -> str | None:
        return None if person.age >= 18 else "must be an adult"

    b = builder(server, "openai").with_validator(adult)
    job = b.submit_batch(["Ann is 30", "Kid is 9"], store=store)
    with pytest.raises(ConfigurationError, match="validators"):
        BatchJob.resume(job.id, store=store, api_key=KEY)
    with pytest.raises(ConfigurationError, match="response model is not the job's"):
        BatchJob.resume(job.id, store=store, api_key=KEY, builder=b.with_response_model(
            {"type": "object", "properties": {"x": {"type": "string"}}}
        ))
    resumed = BatchJob.resume(job.id, store=store, builder=b, api_key=KEY)
    resumed.wait(poll_interval=0.01, timeout=10)
    ok, kid = resumed.results()
    assert ok.value == Person(name="Ann", age=30)  # type: ignore[union-attr]
    assert isinstance(kid, StructuredOutputRetryError) and "must be an adult" in str(kid)


def test_a_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BatchJobError, match="could not open"):
        JobStore(path)


def test_reprs_and_status_hide_the_key(server: BatchAPIServer, tmp_path: Path) -> None:
    with builder(server, "anthropic").submit_batch(["Ann is 30"], store=tmp_path / "j.sqlite") as job:
        for text in (repr(job), repr(job.status()), repr(job.driver()), repr(job.store)):
            assert KEY not in text
        assert time.time() - (job.status().created_at or 0) < 60
    assert job.status().remote_id is not None  # usable after close: a new client is made


def test_one_process_at_a_time_submits_a_job(server: BatchAPIServer, tmp_path: Path) -> None:
    """A job whose submitter is alive (here: this test's parent process, on this host) is not
    submitted by a resume; once its submitter is dead, the resume submits it."""
    import socket

    path = tmp_path / "jobs.sqlite"
    store = JobStore(path)
    from instructor_py.client import batch_job

    original = batch_job.BatchJob._send
    batch_job.BatchJob._send = lambda self, *, lookup: None  # type: ignore[method-assign,assignment,misc]
    try:
        job = builder(server, "anthropic").submit_batch(["Ann is 30"], store=store)
    finally:
        batch_job.BatchJob._send = original  # type: ignore[method-assign]
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE batch_jobs SET sender = ?, sending_until = ? WHERE id = ?",
            (f"{socket.gethostname()}:{os.getppid()}", time.time() + 600, job.id),
        )
    with pytest.raises(BatchJobError, match="another process is submitting"):
        BatchJob.resume(job.id, store=store, api_key=KEY)
    assert server.count("anthropic.create") == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE batch_jobs SET sender = ? WHERE id = ?", (f"{socket.gethostname()}:{dead.stdout.strip()}", job.id))
    resumed = BatchJob.resume(job.id, store=store, api_key=KEY)
    assert resumed.remote_id is not None and server.count("anthropic.create") == 1
