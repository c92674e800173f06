"""``instructor-py extract --cache FILE``: a rerun over the same JSONL input answers every item from
the cache and sends no request (subprocesses against the scripted loopback server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.client.test_cli import SCHEMA, cli, lines, person_server, server_env
from tests.support.servers import ScriptedServer

pytestmark = pytest.mark.e2e


def test_a_rerun_with_the_cache_sends_no_requests(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    person_server(scripted_server)
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(SCHEMA))
    source = tmp_path / "in.jsonl"
    source.write_text("".join(f"Person{n} is {20 + n}\n" for n in range(12)) + "Person0 is 20\n")
    cache = tmp_path / "cache" / "answers.sqlite"  # the folder is created
    args = ("extract", "--schema", str(schema), "--input", str(source), "--preset", "openai",
            "--model", "test-model", "--cache", str(cache), "--concurrency", "4")  # fmt: skip
    first = cli(*args, env=server_env(scripted_server))
    assert first.returncode == 0, first.stderr
    sent = len(scripted_server.requests)
    assert 12 <= sent <= 13  # the repeated line may race its twin
    second = cli(*args, env=server_env(scripted_server))
    assert second.returncode == 0, second.stderr
    assert len(scripted_server.requests) == sent  # the rerun sent nothing
    assert lines(second.stdout) == lines(first.stdout)
    assert lines(second.stdout)[12] == {"index": 12, "value": {"name": "Person0", "age": 20}}
    # another input line is a miss; a changed schema misses everything
    source.write_text("Newcomer is 40\nPerson1 is 21\n")
    third = cli(*args, env=server_env(scripted_server))
    assert third.returncode == 0 and len(scripted_server.requests) == sent + 1
    schema.write_text(json.dumps({**SCHEMA, "title": "Human"}))
    fourth = cli(*args, env=server_env(scripted_server))
    assert fourth.returncode == 0 and len(scripted_server.requests) == sent + 3


def test_a_cache_folder_is_a_usage_error(tmp_path: Path) -> None:
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(SCHEMA))
    done = cli("extract", "--schema", str(schema), "--cache", str(tmp_path), stdin="Ann is 30\n")
    assert done.returncode == 2 and "is a folder" in done.stderr
