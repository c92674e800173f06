"""``instructor-py extract`` / ``python -m instructor_py extract``: in a subprocess against the
scripted loopback server (the preset and base URL from the environment) and the embedded local
model; plus the line parsing, schema loading and result records in process."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from instructor_py.cli import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED_ITEMS,
    UsageError,
    load_schema,
    main,
    parse_line,
    result_record,
)
from instructor_py.common.attempts import Attempt
from instructor_py.common.errors import StructuredOutputRetryError
from tests.support.servers import Reply, ScriptedServer
from tests.support.servers import wire as w
from tests.support.servers.scripted import RecordedRequest
from tests.support.smollm2 import needs_model

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-cli-SECRET-0123456789"

SCHEMA = {
    "title": "Person",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18}},
    "required": ["name", "age"],
}


def cli(
    *args: str,
    stdin: str = "",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stderr: int | None = None,
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    base.pop("INSTRUCTOR_PY_PRESET", None)
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "instructor_py", *args],
        input=stdin,
        capture_output=stderr is None,
        stdout=subprocess.PIPE if stderr is not None else None,
        stderr=stderr,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=300,
        check=False,
    )


def person_server(server: ScriptedServer) -> None:
    """Answer each request with the person named in its first user message."""

    def respond(request: RecordedRequest) -> Reply:
        text = next(m["content"] for m in request.json["messages"] if m["role"] == "user")
        found = re.search(r"(\w+) is (\d+)", text)
        assert found is not None, text
        args = json.dumps({"name": found.group(1), "age": int(found.group(2))})
        return Reply.json(w.openai_chat(tool_args=args, tool_name="Person"))

    server.respond_with(respond)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "person.json"
    path.write_text(json.dumps(SCHEMA))
    return path


def server_env(server: ScriptedServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.openai_url, "OPENAI_API_KEY": API_KEY}


@pytest.mark.e2e
def test_extract_over_the_scripted_server_keeps_order_and_reports_the_failing_item(
    scripted_server: ScriptedServer, schema_file: Path, tmp_path: Path
) -> None:
    person_server(scripted_server)
    source = tmp_path / "in.jsonl"
    source.write_text(
        "Ann is 30\n"
        '"Bob is 31"\n'
        "\n"
        '{"messages": "Kid is 5"}\n'
        '{"messages": [{"role": "user", "content": "Dee is 33"}], "system": "Extract."}\n'
    )
    out = tmp_path / "out.jsonl"
    done = cli(
        "extract", "--schema", str(schema_file), "--input", str(source), "--output", str(out),
        "--preset", "openai", "--model", "test-model", "--concurrency", "3", "--max-retries", "1",
        env=server_env(scripted_server),
    )  # fmt: skip
    assert done.returncode == EXIT_FAILED_ITEMS, done.stderr
    records = lines(out.read_text())
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert records[0]["value"] == {"name": "Ann", "age": 30}
    assert records[1]["value"] == {"name": "Bob", "age": 31}
    assert records[3]["value"] == {"name": "Dee", "age": 33}
    failed = records[2]
    assert failed["error_type"] == "StructuredOutputRetryError" and "value" not in failed
    assert len(failed["attempts"]) == 2
    assert all("18" in " ".join(a["errors"]) for a in failed["attempts"])
    assert json.loads(failed["attempts"][0]["content"]) == {"name": "Kid", "age": 5}
    assert "1 of 4 items failed" in done.stderr
    assert "[#" not in done.stderr and "\r" not in done.stderr  # piped: no progress bar
    assert API_KEY not in done.stderr + out.read_text()
    assert len(scripted_server.requests) == 5


@pytest.mark.e2e
def test_extract_from_stdin_to_stdout_with_the_preset_from_the_environment(
    scripted_server: ScriptedServer, schema_file: Path
) -> None:
    person_server(scripted_server)
    env = {**server_env(scripted_server), "INSTRUCTOR_PY_PRESET": "openai"}
    stdin = "".join(f"P{i} is {20 + i}\n" for i in range(10))
    done = cli("extract", "--schema", str(schema_file), "--model", "test-model", stdin=stdin, env=env)
    assert done.returncode == 0, done.stderr
    records = lines(done.stdout)
    assert [r["value"] for r in records] == [{"name": f"P{i}", "age": 20 + i} for i in range(10)]
    assert done.stderr == ""
    assert scripted_server.requests[0].json["model"] == "test-model"


@pytest.mark.e2e
def test_a_progress_bar_when_stderr_is_a_terminal(
    scripted_server: ScriptedServer, schema_file: Path
) -> None:
    person_server(scripted_server)
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = cli(
            "extract", "--schema", str(schema_file), "--preset", "openai", "--model", "m",
            stdin="Ann is 30\nBob is 31\n", env=server_env(scripted_server), stderr=follower,
        )  # fmt: skip
    finally:
        os.close(follower)
        reader.join(timeout=5)
        os.close(leader)
    assert done.returncode == 0
    shown = b"".join(chunks).decode()
    assert "extract [" in shown and "2/2 100%" in shown
    assert len(lines(done.stdout)) == 2


@pytest.mark.e2e
def test_a_python_model_as_the_schema(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    person_server(scripted_server)
    (tmp_path / "people_models.py").write_text(
        "from pydantic import BaseModel\n\n"
        "class Person(BaseModel):\n    name: str\n    age: int\n"
    )
    env = server_env(scripted_server)
    for schema in ("people_models:Person", str(tmp_path / "people_models.py") + ":Person"):
        done = cli(
            "extract", "--schema", schema, "--preset", "openai", "--model", "m",
            stdin="Ann is 30\n", env=env, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert lines(done.stdout) == [{"index": 0, "value": {"name": "Ann", "age": 30}}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extract", "--schema", "missing.json"], "no such file 'missing.json'"),
        (["extract", "--schema", "nomodule_xyz:Model"], "cannot import nomodule_xyz"),
        (["extract", "--schema", "json:NoSuchThing"], "json has no attribute 'NoSuchThing'"),
        (["extract", "--schema", "SCHEMA", "--concurrency", "0"], "must be an integer >= 1"),
        (["extract", "--schema", "SCHEMA", "--input", "nope.jsonl"], "cannot read 'nope.jsonl'"),
        (["extract", "--schema", "SCHEMA", "--preset", "nonesuch"], "Unknown provider preset"),
        (["extract", "--schema", "SCHEMA", "--preset", "openai"], "OPENAI_API_KEY"),
        (["extract", "--schema", "SCHEMA", "--option", "novalue"], "use KEY=VALUE"),
        (["extract"], "--schema"),
        ([], "COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str],
    message: str,
    schema_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process (``main(argv)`` is what the script runs), to keep the cases fast."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("INSTRUCTOR_PY_PRESET", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Ann is 30\n"))
    args = [str(schema_file) if a == "SCHEMA" else a for a in args]
    try:
        status = main(args)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert status == EXIT_BAD_ARGUMENTS, captured.err
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_a_bad_argument_exits_2_from_the_script_too(schema_file: Path) -> None:
    done = cli("extract", "--schema", str(schema_file), "--preset", "openai", stdin="Ann is 30\n")
    assert done.returncode == EXIT_BAD_ARGUMENTS
    assert "OPENAI_API_KEY" in done.stderr and "Traceback" not in done.stderr and done.stdout == ""


def test_help_shows_the_formats_and_examples() -> None:
    done = cli("extract", "--help")
    assert done.returncode == 0
    for part in ("--schema FILE.json|module:Model", "examples:", '{"index": 0, "value"', "Exit status"):
        assert part in done.stdout, part
    top = cli("--help")
    assert top.returncode == 0 and "extract" in top.stdout


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "instructor-py"
    assert script.exists(), "run `make setup` (pip install -e .) to install the console script"
    done = subprocess.run([str(script), "extract", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "examples:" in done.stdout


@needs_model
@pytest.mark.e2e
def test_extract_on_the_embedded_model_with_no_preset_and_no_key(tmp_path: Path) -> None:
    schema = tmp_path / "city.json"
    schema.write_text(json.dumps({
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }))  # fmt: skip
    done = cli(
        "extract", "--schema", str(schema), "--option", "max_tokens=48",
        stdin="Paris is the capital of France.\nBerlin is the capital of Germany.\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    records = lines(done.stdout)
    assert [r["index"] for r in records] == [0, 1]
    assert records[0]["value"]["city"] == "Paris" and records[1]["value"]["city"] == "Berlin"
    assert done.stderr == ""


# -- in process ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "item"),
    [
        ("Jason is 25\n", "Jason is 25"),
        ('"Jason is 25"\n', "Jason is 25"),
        ('{"messages": "Jason is 25"}', {"messages": "Jason is 25"}),
        ('[{"role": "user", "content": "hi"}]', [{"role": "user", "content": "hi"}]),
        ("42\n", "42"),
        ("{not json\r\n", "{not json"),
    ],
)
def test_a_line_becomes_a_batch_input(line: str, item: Any) -> None:
    assert parse_line(line) == item


def test_schema_files_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "bad.json").write_text('{"type": "object", "properties": 5}')
    with pytest.raises(UsageError, match="must hold a JSON schema object"):
        load_schema(str(tmp_path / "list.json"))
    with pytest.raises(UsageError, match="not a readable JSON file"):
        load_schema(str(tmp_path / "broken.json"))
    with pytest.raises(Exception, match="properties"):
        load_schema(str(tmp_path / "bad.json"))
    with pytest.raises(UsageError, match="give a JSON-schema file"):
        load_schema("justaname")


def test_result_records() -> None:
    error = StructuredOutputRetryError(
        "gave up", attempts=[Attempt(index=1, content="{}", errors=("age: missing",), stage="validate")]
    )
    assert result_record(4, error) == {
        "index": 4,
        "error": "gave up",
        "error_type": "StructuredOutputRetryError",
        "attempts": [{"index": 1, "content": "{}", "errors": ["age: missing"], "stage": "validate"}],
    }
    assert result_record(0, ValueError("x"))["attempts"] == []


def test_a_configuration_error_leaves_no_output_file(
    schema_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("Ann is 30\n")
    argv = ["extract", "--schema", str(schema_file), "--input", str(source), "--output", str(out)]
    assert main([*argv, "--preset", "openai"]) == EXIT_BAD_ARGUMENTS
    assert not out.exists() and "OPENAI_API_KEY" in capsys.readouterr().err
