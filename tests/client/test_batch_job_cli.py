"""``instructor-py batch submit|status|results`` against the loopback batch API: three separate
invocations sharing only the job store (the key comes from the environment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructor_py.cli import main
from tests.support.batch_api import BatchAPIServer


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_submit_status_results(
    vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY" if vendor == "openai" else "ANTHROPIC_API_KEY", "sk-cli-0123456789")
    store = str(tmp_path / "jobs.sqlite")
    items = tmp_path / "people.jsonl"
    items.write_text('Ann is 30\n{"messages": "Bob is 41 BAD"}\n\nCid is 9 FAIL\n', encoding="utf-8")
    with BatchAPIServer(steps_to_finish=3) as server:
        url = server.base_url + ("/v1" if vendor == "openai" else "")
        assert main([
            "batch", "submit", "--schema", "tests.support.batch_models:Person", "--input", str(items),
            "--preset", vendor, "--base-url", url, "--store", store, "--repair", "--max-retries", "1",
        ]) == 0
        submitted = json.loads(capsys.readouterr().out)
        assert submitted["total"] == 3 and submitted["remote_id"]
        job_id = submitted["job_id"]

        assert main(["batch", "status", job_id, "--store", store]) == 0
        assert json.loads(capsys.readouterr().out)["done"] is False
        assert main(["batch", "status", job_id, "--store", store, "--wait", "--poll-interval", "0.01", "--timeout", "10"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["state"] == "completed" and status["done"] is True

        out = tmp_path / "out.jsonl"
        assert main(["batch", "results", job_id, "--store", store, "--output", str(out)]) == 1
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert server.count(f"{vendor}.create") == 1
    assert lines[0] == {"index": 0, "value": {"name": "Ann", "age": 30}}
    assert lines[1] == {"index": 1, "value": {"name": "Bob", "age": 41}, "repaired": True}
    assert lines[2]["error_type"] == "BatchItemError" and "refused" in lines[2]["error"]
    assert "1 of 3 items failed" in capsys.readouterr().err


def test_status_of_an_unknown_job_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "status", "ipj-nope", "--store", str(tmp_path / "jobs.sqlite")]) == 1
    assert "no batch job 'ipj-nope'" in capsys.readouterr().err


def test_submit_to_a_preset_without_a_batch_api_sends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "in.jsonl"
    items.write_text("Ann is 30\n", encoding="utf-8")
    code = main(["batch", "submit", "--schema", "tests.support.batch_models:Person", "--input", str(items),
                 "--preset", "local", "--store", str(tmp_path / "jobs.sqlite")])
    assert code == 2
    assert "no batch API" in capsys.readouterr().err
