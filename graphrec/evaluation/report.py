"""The report of a run: one table (a row per method, a column per metric), the notes that qualify it and the
seconds of each stage; printed by `format_report` and saved by `save_report` as `evaluation.json`,
`evaluation.csv`, `evaluation.png` (the table as bars) and, when there are any, `fairness.csv`."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Report:
    """Attributes:
        protocol, task, variant: of the evaluation (`graphrec.evaluation.protocol.EvalConfig`). rows: one
        dict per method: `method`, then metric → value (and for `graphrec train` also `version`, the written
        model version). notes: data counts, how cases were
        drawn, ties, fall-backs. seconds: stage → seconds (`export`, `fit <name>`, `evaluate`,
        `write_back <name>`). config: the settings, for the record. fairness: per-group fairness rows.
        paired: each method's per-case NDCG (full protocol: and Recall) difference from the first model's with
        its 95 % interval (`graphrec.evaluation.paired.paired_rows`).
    """

    protocol: str
    task: str
    variant: str = "reference"
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    fairness: list[dict[str, Any]] = field(default_factory=list)
    paired: list[dict[str, Any]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The metric columns, in order of first appearance."""
        return list(dict.fromkeys(k for row in self.rows for k, v in row.items()
                                  if k != "method" and isinstance(v, float)))

    def fit_seconds(self, method: str) -> float | None:
        """The seconds `method`'s model took to fit (None for a row that is not a fitted model's own, e.g. a
        member aggregation)."""
        return self.seconds.get(f"fit {method}")

    def row(self, method: str) -> dict[str, Any]:
        """The row of `method` (KeyError naming the methods when absent)."""
        for row in self.rows:
            if row["method"] == method:
                return row
        raise KeyError(f"no method {method!r} in the report: {[row['method'] for row in self.rows]}")

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        found.pop("fairness")
        return {**found, "columns": self.columns}


def format_report(report: Report) -> str:
    """The report as text: the notes, then one aligned table (4 decimals, '-' where not applicable; a model's
    own row also carries its `fit s`econds), then the paired differences from the first model (when any), then
    the seconds of every stage."""
    columns = report.columns
    extra = [key for key in ("version",) if any(key in row for row in report.rows)]
    fits = [report.fit_seconds(row["method"]) for row in report.rows]
    timed = any(s is not None for s in fits)
    cells = [["method", *columns, *extra, *(["fit s"] if timed else [])]] + [
        [row["method"], *(f"{row[c]:.4f}" if c in row else "-" for c in columns),
         *(str(row.get(key, "-")) for key in extra), *([f"{s:.1f}" if s is not None else "-"] if timed else [])]
        for row, s in zip(report.rows, fits)]
    widths = [max(len(line[k]) for line in cells) for k in range(len(cells[0]))]
    lines = [f"protocol: {report.protocol} ({report.variant.replace('_', '-')}), task: {report.task}",
             *(f"  {note}" for note in report.notes)]
    lines.append(" | ".join(cell.ljust(w) for cell, w in zip(cells[0], widths)))
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in cells[1:]]
    lines += format_paired(report.paired)
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    return "\n".join(lines)


def format_paired(paired: list[dict[str, Any]]) -> list[str]:
    """The paired differences as lines: per task and metric, each method's difference from the reference with
    its 95 % interval, '*' when the interval leaves out 0."""
    lines: list[str] = []
    for task, metric in dict.fromkeys((row["task"], row["metric"]) for row in paired):
        rows = [row for row in paired if (row["task"], row["metric"]) == (task, metric)]
        lines.append(f"{task} {metric} minus {rows[0]['reference']}'s, per case ({rows[0]['cases']:,} cases; 95 % "
                     "interval, * when it leaves out 0):")
        width = max(len(row["method"]) for row in rows)
        lines += [f"  {row['method'].ljust(width)} {row['difference']:+.4f} [{row['low']:+.4f}, {row['high']:+.4f}]"
                  f"{' *' if row['low'] > 0 or row['high'] < 0 else ''}" for row in rows]
    return lines


def save_report(report: Report, run_dir: Path) -> None:
    """`evaluation.json`, `evaluation.csv`, `evaluation.png` and (when any) `fairness.csv` and `paired.csv` in
    `run_dir`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "evaluation.json").write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    with open(run_dir / "evaluation.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["method", *report.columns, "fit_seconds"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**row, "fit_seconds": report.fit_seconds(row["method"])} for row in report.rows)
    if report.fairness:
        with open(run_dir / "fairness.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["method", "group", "min", "spread"])
            writer.writeheader()
            writer.writerows(report.fairness)
    if report.paired:
        with open(run_dir / "paired.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["task", "metric", "method", "reference", "difference", "low", "high",
                                             "cases"])
            writer.writeheader()
            writer.writerows(report.paired)
    plot_report(report, run_dir / "evaluation.png")


def plot_report(report: Report, path: Path) -> None:
    """One bar per method for each column of the table (a missing value: no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns, rows = report.columns, report.rows
    fig, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(columns) + 2), 4))
    width = 0.8 / max(len(rows), 1)
    for k, row in enumerate(rows):
        xs = [c + (k - (len(rows) - 1) / 2) * width for c, name in enumerate(columns) if name in row]
        axis.bar(xs, [row[name] for name in columns if name in row], width, label=row["method"])
    axis.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    axis.set(title=f"graphrec: {report.protocol} protocol ({report.variant.replace('_', '-')}), task {report.task}",
             ylabel="value")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
