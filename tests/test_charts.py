"""benchmarks/charts.py turns what a benchmark recorded (benchmarks/results.py) into SVG charts,
and the benchmark pages show a chart for every results file that has one."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import charts  # noqa: E402
from results import Chart, Table, load, save  # noqa: E402


def test_a_recorded_run_becomes_svg_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("results.RESULTS", tmp_path / "results")
    path = save(
        "demo",
        [Table("t", ["column", "correct %"], [["ours", 53.3], ["theirs", 31.7]])],
        [
            Chart("demo-bar", "Accuracy", "bar", ["correct %"], {"ours": [53.3], "theirs": [31.7]}),
            Chart("demo-line", "Time", "line", [250, 500], {"ours": [0.1, 0.2], "theirs": [1.0, None]},
                  log_y=True),
        ],
    )  # fmt: skip
    data, recorded = load(path)
    assert data["tables"][0]["rows"][0] == ["ours", 53.3] and len(recorded) == 2
    out = tmp_path / "charts"
    assert charts.main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 0
    bar = (out / "demo-bar.svg").read_text()
    assert bar.startswith("<?xml") and "Accuracy" in bar and "53.3" in bar
    assert "Time" in (out / "demo-line.svg").read_text()


def test_an_unknown_chart_kind_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown chart kind 'pie'"):
        charts.draw(Chart("x", "x", "pie", [1], {"a": [1.0]}), "x.json", tmp_path)


def test_no_results_is_an_error(tmp_path: Path) -> None:
    assert charts.main(["--results", str(tmp_path), "--out", str(tmp_path / "c")]) == 1


def test_every_recorded_chart_is_shown_on_a_page() -> None:
    recorded = {c.name for p in (ROOT / "benchmarks" / "results").glob("*.json") for c in load(p)[1]}
    assert recorded, "no benchmark results recorded"
    pages = " ".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    shown = set(re.findall(r"charts/([\w.-]+)\.svg", pages))
    assert recorded <= shown, recorded - shown
    assert all((ROOT / "docs" / "charts" / f"{name}.svg").exists() for name in shown)
