"""Every cookbook recipe (examples/cookbook/*.py, shown in docs/cookbook.md) runs as it is, and
prints what the page says it prints: a recipe that rots fails here. A recipe without a check below
fails too, so none can be added unchecked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COOKBOOK = ROOT / "examples" / "cookbook"


def _classify(out: str) -> None:
    assert re.search(r"^positive: I love it", out, re.M), out
    assert re.search(r"^negative: Broke after two days", out, re.M), out


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


CHECKS: dict[str, Callable[[str], None]] = {
    "classify.py": _classify,
    "entities.py": _entities,
    "invoice.py": _invoice,
    "long_document.py": _long_document,
    "citations.py": _citations,
    "batch_jsonl.py": _batch_jsonl,
    "streaming.py": _streaming,
}


def test_every_recipe_has_a_check() -> None:
    recipes = {p.name for p in COOKBOOK.glob("*.py")}
    assert len(recipes) >= 7
    assert recipes == set(CHECKS), recipes ^ set(CHECKS)


def test_every_recipe_is_on_the_cookbook_page() -> None:
    page = (ROOT / "docs" / "cookbook.md").read_text()
    missing = [name for name in CHECKS if f"cookbook/{name}" not in page]
    assert missing == []


@pytest.mark.parametrize("recipe", sorted(CHECKS))
def test_recipe_runs(recipe: str) -> None:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INSTRUCTOR_PY_PRESET", None)
    done = subprocess.run(
        [sys.executable, str(COOKBOOK / recipe)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    CHECKS[recipe](done.stdout)
