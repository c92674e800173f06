"""Every import a page of the docs shows still works: the import statements of every Python code
block in docs/ and README.md (and the `instructor_py.X.Y` module paths the prose names) resolve
against the package as it is laid out now."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
OPTIONAL = {"llama_cpp", "torch", "transformers", "ray", "boto3", "tenacity", "anthropic"}


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _imports(block: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped.startswith(("import ", "from ")) or "--8<--" in stripped:
            continue
        try:
            tree = ast.parse(stripped.rstrip("(").rstrip() + (" x)" if stripped.endswith("(") else ""))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.extend((node.module, a.name) for a in node.names if a.name not in {"x", "*"})
            elif isinstance(node, ast.Import):
                found.extend((a.name, None) for a in node.names)
    return found


def test_every_documented_import_resolves() -> None:
    checked, broken = 0, []
    for page in PAGES:
        for block in _blocks(page.read_text()):
            for module, name in _imports(block):
                if not module.startswith("instructor_py"):
                    continue
                checked += 1
                try:
                    imported = importlib.import_module(module)
                except ImportError as exc:
                    if exc.name in OPTIONAL:
                        continue
                    broken.append(f"{page.name}: import {module} ({exc})")
                    continue
                if name is not None and not hasattr(imported, name):
                    try:
                        importlib.import_module(f"{module}.{name}")
                    except ImportError:
                        broken.append(f"{page.name}: from {module} import {name}")
    assert checked > 25
    assert broken == []


def test_every_module_path_the_prose_names_exists() -> None:
    checked, missing = 0, []
    for page in PAGES:
        for path in set(re.findall(r"`(instructor_py(?:\.\w+)+)`", page.read_text())):
            checked += 1
            parts = path.split(".")
            for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
                try:
                    obj: object = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
                    if obj is None:
                        missing.append(f"{page.name}: {path}")
                        break
                break
            else:
                missing.append(f"{page.name}: {path}")
    assert checked > 20
    assert missing == []
