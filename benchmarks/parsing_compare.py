"""Row by row, what changed between two runs of ``benchmarks/parsing.py``: each reader's outcome
(correct, refused, wrong; accepted or refused for the ambiguous rows) per corpus row.

    PYTHONPATH=. .venv/bin/python benchmarks/parsing_compare.py BEFORE.json [AFTER.json]

``AFTER`` defaults to ``benchmarks/results/parsing.json``. Prints every row whose outcome differs
and exits 1 when any does (a change to the parser that should not change what it reads, such as
a speed-up, must leave every row as it was).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "parsing.json"


def changes(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """Each outcome that differs, for the readers both runs have."""
    out = []
    for reader in sorted(set(before) & set(after)):
        old, new = before[reader], after[reader]
        for row in sorted(set(old) | set(new)):
            if old.get(row) != new.get(row):
                out.append(f"{reader} | {row}: {old.get(row, '-')} -> {new.get(row, '-')}")
    return out


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    before = json.loads(Path(sys.argv[1]).read_text())["per_case"]
    after = json.loads(Path(sys.argv[2] if len(sys.argv) == 3 else RESULTS).read_text())["per_case"]
    found = changes(before, after)
    rows = len({row for by_row in after.values() for row in by_row})
    for line in found:
        print(line)
    for reader in sorted(set(before) ^ set(after)):
        print(f"{reader}: in one run only, not compared")
    common = len(set(before) & set(after))
    print(f"{len(found)} outcomes changed ({common} readers in both runs, {rows} rows)")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
