"""The response cache end to end: ``StructuredOutput().with_cache(...)`` against the scripted
loopback server (the openai SDK on the OpenAI wire, httpx on the Anthropic one). The server's
request log is the proof that a hit sends nothing."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from instructor_py import (
    CacheHit,
    CacheMiss,
    CacheStored,
    CacheUnavailable,
    Event,
    MemoryCache,
    Sequence,
    SqliteCache,
    StructuredOutput,
    Usage,
)
from instructor_py.common.modes import OutputMode
from tests.support.response_models import Adult
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w
from tests.support.wire_formats import ANTHROPIC, API_KEY, OPENAI, WIRES, Wire

pytestmark = pytest.mark.e2e


class User(Adult):
    """An adult (validation fails below 18)."""


class Person(BaseModel):
    """Another model with the same fields: a different response model."""

    name: str
    age: int


GOOD = {"name": "Jason", "age": 25}


def events_of(builder: StructuredOutput[Any]) -> tuple[StructuredOutput[Any], list[Event]]:
    seen: list[Event] = []
    return builder.wiretap(seen.append), seen


def kinds(seen: list[Event], *types: type[Event]) -> list[Event]:
    return [e for e in seen if isinstance(e, types)]


@pytest.mark.parametrize("wire", WIRES, ids=[w.preset for w in WIRES])
def test_a_hit_returns_the_same_value_text_and_usage_and_sends_nothing(
    scripted_server: ScriptedServer, wire: Wire
) -> None:
    scripted_server.script([wire.answer(GOOD, OutputMode.TOOLS, usage=(31, 7))])
    builder = wire.client(scripted_server).with_(messages="Jason is 25", response_model=User)
    builder = builder.with_cache("memory")
    first = builder.response()
    builder, seen = events_of(builder)
    second = builder.response()
    assert len(scripted_server.requests) == 1  # the second call sent nothing
    assert first.cache_hit is False and second.cache_hit is True
    assert second.value == first.value == User(name="Jason", age=25)
    assert second.raw_text == first.raw_text
    assert second.usage == first.usage == Usage(input_tokens=31, output_tokens=7)
    assert [a.content for a in second.attempts] == [a.content for a in first.attempts]
    (hit,) = kinds(seen, CacheHit)
    assert hit.cache == "memory" and hit.usage == first.usage and len(hit.key) == 16
    assert not kinds(seen, CacheMiss, CacheStored)


def test_misses_are_stored_and_reported(scripted_server: ScriptedServer) -> None:
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    builder, seen = events_of(
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_cache("memory")
    )
    builder.get()
    (miss,) = kinds(seen, CacheMiss)
    (stored,) = kinds(seen, CacheStored)
    assert miss.reason == "absent" and stored.key == miss.key and stored.size > 0


def test_only_validated_answers_are_cached(scripted_server: ScriptedServer) -> None:
    child = OPENAI.answer({"name": "Jason", "age": 5}, OutputMode.TOOLS)
    scripted_server.script([child, OPENAI.answer(GOOD, OutputMode.TOOLS)])
    cache = MemoryCache()
    builder = OPENAI.client(scripted_server).with_(
        messages="Jason is 25", response_model=User, max_retries=0
    )
    with pytest.raises(Exception, match="age must be at least 18"):
        builder.with_cache(cache).get()
    assert len(cache) == 0
    builder.with_cache(cache).get()  # the second (valid) answer is stored ...
    assert len(cache) == 1
    builder.with_cache(cache).get()  # ... and reused
    assert len(scripted_server.requests) == 2


def test_the_key_covers_everything_that_changes_the_answer(scripted_server: ScriptedServer) -> None:
    both = w.openai_chat(json.dumps(GOOD), tool_args=json.dumps(GOOD), tool_name="User")
    scripted_server.script([], default=Reply.json(both))  # a text answer and a tool call
    cache = MemoryCache()
    base = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_cache(cache)
    )
    variants = [
        base,
        base.with_response_model(Person),  # another response model (same fields) invalidates
        base.with_(messages="Jason is 26"),
        base.with_(messages=[{"role": "user", "content": "Jason is 25"}], system="Be terse."),
        base.with_options(temperature=0.5),
        base.with_model("another-model"),
        base.with_output_mode("json_schema"),
        base.with_max_retries(5),
        base.with_retry_prompt("Fix: {errors}"),
        base.with_tool(name="Extract"),
        # provider identity: another credential, another base URL (same server)
        OPENAI.client(scripted_server, api_key="sk-other")
        .with_(messages="Jason is 25", response_model=User)
        .with_cache(cache),
        StructuredOutput()
        .using(
            "openai",
            api_key=API_KEY,
            base_url=f"http://localhost:{scripted_server.port}/v1",
            model=w.MODEL,
        )
        .with_(messages="Jason is 25", response_model=User)
        .with_cache(cache),
    ]
    for builder in variants:
        assert builder.response().cache_hit is False
    assert len(scripted_server.requests) == len(variants)
    for builder in variants:  # each variant now hits its own entry
        assert builder.response().cache_hit is True
    assert len(scripted_server.requests) == len(variants)
    # what does not change the answer shares the entry: a transformer, into_dict, events
    assert base.into_dict().response().value == GOOD
    assert base.with_transformer(lambda u: u.name).get() == "Jason"
    assert len(scripted_server.requests) == len(variants)


def test_the_credential_never_reaches_the_cache_file(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.script([OPENAI.answer(GOOD, OutputMode.TOOLS)])
    path = tmp_path / "cache.sqlite"
    OPENAI.client(scripted_server).with_(messages="Jason is 25", response_model=User).with_cache(
        path
    ).get()
    SqliteCache(path).close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert raw and API_KEY.encode() not in raw and b"SECRET" not in raw


def test_a_cached_answer_that_fails_a_new_validator_is_a_miss(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    cache = MemoryCache()
    base = OPENAI.client(scripted_server).with_(
        messages="Jason is 25", response_model=User, max_retries=0
    )
    base = base.with_cache(cache)
    base.get()
    strict, seen = events_of(base.with_validator(lambda u: u.age > 30 or "too young for this call"))
    with pytest.raises(Exception, match="too young"):
        strict.get()
    (miss,) = kinds(seen, CacheMiss)
    assert miss.reason.startswith("stale")


# -- streaming replay ------------------------------------------------------------------------------


class Item(BaseModel):
    name: str
    qty: int


ITEMS = [{"name": "apple", "qty": 3}, {"name": "pear", "qty": 1}, {"name": "fig", "qty": 12}]


@pytest.mark.parametrize("wire", WIRES, ids=[w.preset for w in WIRES])
def test_a_hit_replays_partials_from_the_cached_answer(
    scripted_server: ScriptedServer, wire: Wire
) -> None:
    scripted_server.script(
        [wire.answer({"name": "Jason Alexander Smith", "age": 25}, OutputMode.TOOLS)]
    )
    builder = (
        wire.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_cache("memory")
    )
    live = list(builder.stream().partials())
    builder, seen = events_of(builder)
    stream = builder.stream()
    replayed = list(stream.partials())
    assert len(scripted_server.requests) == 1
    assert len(replayed) > 3  # growing snapshots, as from a live stream
    assert replayed[-1].model_dump() == live[-1].model_dump()
    names = [p.name for p in replayed if getattr(p, "name", None)]
    assert names[0] != names[-1] and names[-1] == "Jason Alexander Smith"
    final = stream.final_response()
    assert final.cache_hit and final.value == User(name="Jason Alexander Smith", age=25)
    assert kinds(seen, CacheHit)


def test_a_hit_replays_sequence_items(scripted_server: ScriptedServer) -> None:
    scripted_server.script([OPENAI.answer({"items": ITEMS}, OutputMode.TOOLS)])
    builder = OPENAI.client(scripted_server).with_(
        messages="the basket", response_model=Sequence.of(Item)
    )
    builder = builder.with_cache("memory")
    assert builder.get() == [Item(**i) for i in ITEMS]  # a get() fills the cache ...
    items = list(builder.stream().sequence())  # ... a stream() replays it
    assert items == [Item(**i) for i in ITEMS]
    assert len(scripted_server.requests) == 1


async def test_async_calls_and_streams_share_the_cache(scripted_server: ScriptedServer) -> None:
    scripted_server.script([ANTHROPIC.answer(GOOD, OutputMode.TOOLS)])
    builder = ANTHROPIC.client(scripted_server).with_(messages="Jason is 25", response_model=User)
    builder = builder.with_cache("memory")
    first = await builder.aresponse()
    second = await builder.aresponse()
    partials = [p async for p in builder.astream().partials()]
    assert not first.cache_hit and second.cache_hit and second.value == first.value
    assert partials and partials[-1].age == 25
    assert builder.get() == first.value
    assert len(scripted_server.requests) == 1


# -- the SQLite file -------------------------------------------------------------------------------


def test_a_file_cache_survives_the_builder_and_is_bounded(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    cache = SqliteCache(tmp_path / "c.sqlite", max_entries=2)
    base = OPENAI.client(scripted_server).with_(response_model=User).with_cache(cache)
    for n in range(3):
        base.with_(messages=f"Jason is 25 (#{n})").get()
    assert cache.stats()[0] == 2  # the oldest went
    assert base.with_(messages="Jason is 25 (#2)").response().cache_hit
    assert not base.with_(messages="Jason is 25 (#0)").response().cache_hit
    assert len(scripted_server.requests) == 4


_CHILD = """
import json, sys
from instructor_py import StructuredOutput
from tests.support.response_models import Adult

port, path = sys.argv[1], sys.argv[2]
response = (
    StructuredOutput()
    .using("openai", api_key="sk-e2e-SECRET-key-0123456789abcdef", base_url=f"http://127.0.0.1:{port}/v1", model="test-model")
    .with_(messages="Jason is 25", response_model=Adult)
    .with_cache(path)
    .response()
)
print(json.dumps({"hit": response.cache_hit, "value": response.value.model_dump()}))
"""


def _child(port: int, path: Path) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(port), str(path)],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_two_processes_sharing_the_file_both_hit(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.script([OPENAI.answer(GOOD, OutputMode.TOOLS)])
    path = tmp_path / "shared.sqlite"
    # the child imports the model as tests.support.response_models.Adult (the key holds its qualified name)
    stored = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=Adult)
        .with_cache(path)
    )
    assert stored.response().cache_hit is False  # this process stores ...
    first = _child(scripted_server.port, path)  # ... another process hits ...
    second = _child(scripted_server.port, path)  # ... and another
    assert first == second == {"hit": True, "value": GOOD}
    assert len(scripted_server.requests) == 1


def test_a_child_process_fills_the_cache_for_this_one(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.script([OPENAI.answer(GOOD, OutputMode.TOOLS)])
    path = tmp_path / "shared.sqlite"
    assert _child(scripted_server.port, path)["hit"] is False
    builder = OPENAI.client(scripted_server).with_(messages="Jason is 25", response_model=Adult)
    assert builder.with_cache(SqliteCache(path)).response().cache_hit is True
    assert len(scripted_server.requests) == 1


def test_threads_share_a_file_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    base = (
        OPENAI.client(scripted_server).with_(response_model=User).with_cache(tmp_path / "t.sqlite")
    )
    inputs = [f"Jason is 25 ({n % 4})" for n in range(16)]
    first = base.batch(inputs, concurrency=8)
    assert all(not isinstance(r, Exception) for r in first)
    sent = len(scripted_server.requests)
    assert 4 <= sent <= 16  # concurrent misses of one key may each send
    again = base.batch(inputs, concurrency=8)
    assert all(not isinstance(r, Exception) and r.cache_hit for r in again)
    assert len(scripted_server.requests) == sent


def test_a_corrupt_cache_file_is_a_warning_and_a_bypass(
    scripted_server: ScriptedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database, just garbage bytes " * 200)
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    builder, seen = events_of(
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_cache(SqliteCache(path))
    )
    with caplog.at_level(logging.WARNING, logger="instructor_py"):
        response = builder.response()
    assert response.value == User(**GOOD) and not response.cache_hit  # the result is not lost
    problems = kinds(seen, CacheUnavailable)
    assert {e.operation for e in problems} == {"read", "write"}
    assert "not a database" in problems[0].error
    assert any(
        "CacheUnavailable" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )
    assert path.read_bytes().startswith(b"this is not a database")  # never rewritten
    assert len(scripted_server.requests) == 1


def test_a_corrupt_entry_is_a_bypass(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    path = tmp_path / "c.sqlite"
    builder = (
        OPENAI.client(scripted_server)
        .with_(messages="Jason is 25", response_model=User)
        .with_cache(SqliteCache(path))
    )
    builder.get()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE responses SET entry = ?", (b"{not json",))
    builder, seen = events_of(builder)
    assert builder.response().cache_hit is False
    assert kinds(seen, CacheUnavailable)[0].operation == "read"
    assert builder.response().cache_hit is True  # the fresh answer replaced the bad entry
    assert len(scripted_server.requests) == 2


def test_a_locked_cache_file_is_a_warning_and_a_bypass(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "locked.sqlite"
    cache = SqliteCache(path, timeout=0.1)
    scripted_server.script([], default=OPENAI.answer(GOOD, OutputMode.TOOLS))
    builder = OPENAI.client(scripted_server).with_(response_model=User).with_cache(cache)
    builder.with_(messages="stored before the lock").get()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another connection holds the write lock
        locked, seen = events_of(builder.with_(messages="Jason is 25"))
        response = locked.response()
        assert response.value == User(**GOOD)  # sent and returned; only the store failed
        (problem,) = kinds(seen, CacheUnavailable)
        assert problem.operation == "write" and "locked" in problem.error
        # reads need no lock (WAL): an entry stored earlier still hits
        assert builder.with_(messages="stored before the lock").response().cache_hit
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert builder.with_(messages="Jason is 25").response().cache_hit is False  # stored now
    assert builder.with_(messages="Jason is 25").response().cache_hit is True


def test_an_exclusive_locking_mode_blocks_reads_too_and_still_bypasses(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "exclusive.sqlite"
    creator = SqliteCache(path)
    creator.stats()  # create the file
    creator.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE IF NOT EXISTS other (x)")
    try:
        scripted_server.script([OPENAI.answer(GOOD, OutputMode.TOOLS)])
        builder, seen = events_of(
            OPENAI.client(scripted_server)
            .with_(messages="Jason is 25", response_model=User)
            .with_cache(SqliteCache(path, timeout=0.1))
        )
        assert builder.get() == User(**GOOD)
        assert {e.operation for e in kinds(seen, CacheUnavailable)} == {"read", "write"}
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_with_cache_rejects_what_is_not_a_cache() -> None:
    from instructor_py import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="memory"):
        StructuredOutput().with_cache(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_entries"):
        MemoryCache(max_entries=0)
    builder = StructuredOutput()
    assert builder.with_cache("memory") is not builder and builder.spec.cache is None
