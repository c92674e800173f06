"""Where the benchmarks keep their results: ``benchmarks/results/<name>.json``, one file per
benchmark, rewritten by each run. Each file holds the run's tables (as printed) and the charts
``benchmarks/charts.py`` draws from them (SVG under ``docs/charts/``, shown beside the tables)."""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Chart:
    """One chart: ``kind`` "bar" (grouped bars, one group per x) or "line" (one line per series).
    ``series`` maps a label to one value per x; ``None`` is a missing value (not drawn)."""

    name: str
    title: str
    kind: str
    x: list[Any]
    series: dict[str, list[float | None]]
    xlabel: str = ""
    ylabel: str = ""
    log_y: bool = False
    note: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=RESULTS.parent,
            check=False,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def save(benchmark: str, tables: list[Table], charts: list[Chart], **extra: Any) -> Path:
    """Write ``benchmarks/results/<benchmark>.json`` and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{benchmark}.json"
    payload = {
        "benchmark": benchmark,
        "commit": _commit(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "tables": [asdict(t) for t in tables],
        "charts": [asdict(c) for c in charts],
        **extra,
    }
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"results: {path.relative_to(RESULTS.parent.parent)}")
    return path


def load(path: Path) -> tuple[dict[str, Any], list[Chart]]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data, [Chart(**c) for c in data.get("charts", [])]
