"""Draw every chart the benchmarks recorded (``benchmarks/results/*.json``) as SVG under
``docs/charts/``, where the benchmark pages show them beside their tables.

    python benchmarks/charts.py            # all results
    python benchmarks/charts.py bfcl       # one benchmark
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")

import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import RESULTS, Chart, load

OUT = Path(__file__).resolve().parent.parent / "docs" / "charts"


def draw(chart: Chart, source: str, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    labels = [str(x) for x in chart.x]
    if chart.kind == "bar":
        width = 0.8 / max(1, len(chart.series))
        for i, (label, values) in enumerate(chart.series.items()):
            xs = [j + (i - (len(chart.series) - 1) / 2) * width for j in range(len(labels))]
            ys = [v if v is not None else 0.0 for v in values]
            bars = ax.bar(xs, ys, width, label=label)
            for bar, v in zip(bars, values, strict=True):
                if v is not None:
                    ax.annotate(f"{v:g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                ha="center", va="bottom", fontsize=7)  # fmt: skip
        ax.set_xticks(range(len(labels)), labels)
    elif chart.kind == "line":
        for label, values in chart.series.items():
            points = [(x, v) for x, v in zip(chart.x, values, strict=True) if v is not None]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    else:
        raise ValueError(f"{source}: unknown chart kind {chart.kind!r} (bar or line)")
    if chart.log_y:
        ax.set_yscale("log")
    ax.set_title(chart.title, fontsize=10)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    if chart.note:
        fig.text(0.01, 0.01, chart.note, fontsize=7, alpha=0.7)
    fig.tight_layout()
    path = out / f"{chart.name}.svg"
    fig.savefig(path, metadata={"Date": None})  # no timestamp: reruns on the same data are equal
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("benchmarks", nargs="*", help="names under benchmarks/results (default: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files = [args.results / f"{n}.json" for n in args.benchmarks] or sorted(
        args.results.glob("*.json")
    )
    drawn = 0
    for path in files:
        data, charts = load(path)
        for chart in charts:
            print(f"{draw(chart, path.name, args.out)}  "
                  f"({data['benchmark']}, {data['date']}, {data['commit']})")  # fmt: skip
            drawn += 1
    if not drawn:
        print("no charts recorded: run the benchmarks first", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
