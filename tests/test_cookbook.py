"""Every cookbook recipe (examples/cookbook/*.py, shown in docs/cookbook.md) runs as it is, and
prints what the page says it prints: a recipe that rots fails here. A recipe without a check below
fails too, so none can be added unchecked."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.batch_api import BatchAPIServer
from tests.support.servers import wire
from tests.support.servers.scripted import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
COOKBOOK = ROOT / "examples" / "cookbook"


def _classify(out: str) -> None:
    assert re.search(r"^positive: I love it", out, re.M), out
    assert re.search(r"^negative: Broke after two days", out, re.M), out
    rows = re.findall(r"^ +positive=([\d.]+), negative=([\d.]+), neutral=([\d.]+)$", out, re.M)
    assert len(rows) == 2 and all(abs(sum(map(float, r)) - 1) < 0.02 for r in rows), out
    assert float(rows[0][0]) > 0.5 and float(rows[1][1]) > 0.5  # the distribution agrees
    assert re.search(r"^classify\(\): negative \(positive=", out, re.M), out


def _entities(out: str) -> None:
    assert re.findall(r"^city: (.+)$", out, re.M) == ["Paris, France", "Tokyo, Japan", "Lima, Peru"]


def _invoice(out: str) -> None:
    assert "customer: Acme Corp" in out
    assert "2 x widget at 3.50" in out and "1 x gadget at 10.00" in out
    assert "total: 17.00" in out


def _long_document(out: str) -> None:
    assert "4 chunks" in out
    people = re.findall(r"^person: (.+)$", out, re.M)
    assert people == ["Anna Berg, 41", "Lisa Holm, 9", "Tom Lund, 67"], out


def _citations(out: str) -> None:
    quotes = re.findall(r"quote:\s+'(.+)' \(in the source: (True|False)\)", out)
    assert len(quotes) == 2 and all(flag == "True" for _, flag in quotes), out
    assert "answer: 1,230 km" in out


def _batch_jsonl(out: str) -> None:
    rows = re.findall(r"^(\d) \{'city': '(\w+)'", out, re.M)
    assert rows == [("0", "Paris"), ("1", "Berlin"), ("2", "Madrid")], out


def _streaming(out: str) -> None:
    partials = re.findall(r"^partial \d+: ", out, re.M)
    assert len(partials) >= 3  # the object grows over several snapshots
    assert "final: Profile(name='Maria Lopez'" in out and "city='Seville'" in out


def _cached_rerun(out: str) -> None:
    first, second = re.findall(r"^(?:first|second) run: (.+), cache_hit=(\w+), (\d+) output tokens", out, re.M)
    assert first[0] == second[0] and first[0].startswith("City(city='Lyon'"), out
    assert (first[1], second[1]) == ("False", "True")
    assert first[2] == second[2]  # the original usage comes back with the hit


def _pdf_invoices_claude(out: str) -> None:
    assert re.search(r"^document: PDF\(application/pdf, \d+ bytes, sha256=[0-9a-f]+", out, re.M), out
    assert "INV-2041: Acme Corp, 2 x Widget, 1 x Gadget, total 17.00" in out
    assert "INV-2042: Bolt Ltd, 4 x Bolt, total 1.00" in out


def _cbison_from_c(out: str) -> None:
    assert '{"name":"Ada","age":36}: 11 of 11 tokens accepted' in out and "accepting=1" in out, out
    assert re.search(r'"age":"36"\}: (\d+) of 11 tokens accepted, .* accepting=0', out), out


def _batch_job(out: str) -> None:
    assert re.search(r"^submitted \w+ \(resume with: ", out, re.M), out
    assert re.search(r"^completed: 3 answered, 0 failed$", out, re.M), out
    assert re.findall(r"^(\d): name='(\w+)' age=(\d+)", out, re.M) == [
        ("0", "Jason", "25"), ("1", "Sarah", "31"), ("2", "Ben", "40")]


CHECKS: dict[str, Callable[[str], None]] = {
    "classify.py": _classify,
    "entities.py": _entities,
    "invoice.py": _invoice,
    "long_document.py": _long_document,
    "citations.py": _citations,
    "batch_jsonl.py": _batch_jsonl,
    "streaming.py": _streaming,
    "cached_rerun.py": _cached_rerun,
    "cbison_from_c.py": _cbison_from_c,
    "pdf_invoices_claude.py": _pdf_invoices_claude,
    "batch_job.py": _batch_job,
}

#: recipes that call a hosted API: run against a loopback server speaking its wire format
HOSTED = {"pdf_invoices_claude.py", "batch_job.py"}


def test_every_recipe_has_a_check() -> None:
    recipes = {p.name for p in COOKBOOK.glob("*.py")}  # cbison_walk.c is cbison_from_c.py's
    assert len(recipes) >= 7
    assert recipes == set(CHECKS), recipes ^ set(CHECKS)


def test_every_recipe_is_on_the_cookbook_page() -> None:
    page = (ROOT / "docs" / "cookbook.md").read_text()
    missing = [name for name in CHECKS if f"cookbook/{name}" not in page]
    assert missing == []


def _run(recipe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    env.pop("INSTRUCTOR_PY_PRESET", None)
    return subprocess.run(
        [sys.executable, str(COOKBOOK / recipe), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("recipe", sorted(set(CHECKS) - HOSTED))
def test_recipe_runs(recipe: str) -> None:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    done = _run(recipe, {})
    assert done.returncode == 0, done.stderr[-2000:]
    CHECKS[recipe](done.stdout)


def test_hosted_recipe_without_a_key_says_so() -> None:
    done = _run("pdf_invoices_claude.py", {"ANTHROPIC_API_KEY": ""})
    assert done.returncode == 0 and "set ANTHROPIC_API_KEY" in done.stdout, done.stderr


def test_pdf_invoices_with_claude(scripted_server: ScriptedServer) -> None:
    invoices = {"invoices": [
        {"number": "INV-2041", "customer": "Acme Corp", "total": 17.0, "lines": [
            {"item": "Widget", "quantity": 2, "unit_price": 3.5},
            {"item": "Gadget", "quantity": 1, "unit_price": 10.0}]},
        {"number": "INV-2042", "customer": "Bolt Ltd", "total": 1.0, "lines": [
            {"item": "Bolt", "quantity": 4, "unit_price": 0.25}]},
    ]}  # fmt: skip
    scripted_server.script([Reply.json(wire.anthropic_message(tool_input=invoices, tool_name="Invoices"))])
    done = _run("pdf_invoices_claude.py",
                {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": scripted_server.url})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    CHECKS["pdf_invoices_claude.py"](done.stdout)
    (request,) = scripted_server.requests
    assert request.path.endswith("/v1/messages")
    assert request.json["model"] == "claude-sonnet-4-5"
    blocks = request.json["messages"][-1]["content"]
    document = next(b for b in blocks if b["type"] == "document")
    pdf = (ROOT / "examples" / "data" / "invoices.pdf").read_bytes()
    assert document["source"] == {
        "type": "base64", "media_type": "application/pdf", "data": base64.b64encode(pdf).decode()}
    assert any(b.get("type") == "text" and "Extract every invoice" in b.get("text", "") for b in blocks)


def test_a_batch_job_on_the_batch_api(tmp_path: Path) -> None:
    with BatchAPIServer() as server:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f"{server.base_url}/v1",
               "INSTRUCTOR_PY_JOBS": str(tmp_path / "jobs.sqlite"), "BATCH_POLL_SECONDS": "0.2"}  # fmt: skip
        done = _run("batch_job.py", env)
        assert done.returncode == 0, done.stderr[-2000:]
        CHECKS["batch_job.py"](done.stdout)
        assert server.calls.get("openai.create") == 1
        job = re.search(r"^submitted (\w+)", done.stdout, re.M)
        assert job is not None
        resumed = _run("batch_job.py", env, job[1])  # another process, the same job
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "completed: 3 answered, 0 failed" in resumed.stdout
        assert "submitted" not in resumed.stdout
        assert server.calls.get("openai.create") == 1  # resumed, never submitted twice
