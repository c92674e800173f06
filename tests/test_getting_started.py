"""docs/getting-started.md is followed line by line: its Python snippets that need no key run
as they are, in order, in one namespace, on the embedded model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "getting-started.md"
HOSTED = ('.using("openai")', ".using('openai')")


def snippets() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    return [b for b in blocks if not any(h in b for h in HOSTED)]


def test_the_page_has_runnable_snippets() -> None:
    blocks = snippets()
    assert len(blocks) >= 3
    assert any("StructuredOutput()" in b for b in blocks)


def test_the_snippets_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp", reason="the local extra (llama-cpp-python) is not installed")
    namespace: dict[str, Any] = {"__name__": "getting_started"}
    for block in snippets():
        exec(compile(block, str(PAGE), "exec"), namespace)
    user = namespace["user"]
    assert (user.name, user.age) == ("Jason", 25)
    out = capsys.readouterr().out
    assert "name='Jason' age=25" in out
