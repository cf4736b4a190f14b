"""Eval reports from a `summarize` summary: a terminal table, a JSON file, markdown with plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from harness.evaluate import TaskResult

PLOTS = ("accuracy.png", "rounds.png", "latency.png")


def columns(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(header, metric key) for every column, pass@k for each k the summary has."""
    overall = summary.get("overall", {})
    passes = sorted((k for k in overall if k.startswith("pass@")), key=lambda k: int(k[5:]))
    return [("tasks", "tasks"), ("EX", "ex"), ("comp@1", "comp@1"), ("exec@1", "exec@1"),
            *[(k, k) for k in passes], ("first-try", "first_try"), ("rounds", "rounds_mean"),
            ("p50 s", "seconds_p50"), ("p95 s", "seconds_p95"), ("tokens", "tokens_mean")]


def rows(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("overall", summary.get("overall", {})), *summary.get("by_difficulty", {}).items()]


def cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("ex", "first_try") or "@" in key:
        return f"{100 * value:.1f}%"
    if key in ("tasks", "tokens_mean"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def summary_table(summary: dict[str, Any], title: str = "Evaluation") -> Table:
    table = Table(title=title)
    table.add_column("")
    for header, _ in columns(summary):
        table.add_column(header, justify="right")
    for name, metrics in rows(summary):
        table.add_row(name, *[cell(key, metrics.get(key)) for _, key in columns(summary)])
    return table


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    (console or Console()).print(summary_table(summary))


def write_report(summary: dict[str, Any], results: Sequence[TaskResult],
                 out_dir: Path) -> list[Path]:
    """Write summary.json, report.md and its plots into `out_dir`; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "summary.json", out_dir / "report.md", *(out_dir / p for p in PLOTS)]
    paths[0].write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(summary), encoding="utf-8")
    _accuracy_plot(summary, paths[2])
    _rounds_plot(summary, paths[3])
    _latency_plot(results, paths[4])
    return paths


def markdown(summary: dict[str, Any]) -> str:
    heads = columns(summary)
    lines = ["# Evaluation report", ""]
    run = summary.get("run") or {}
    for key in ("model", "adapter", "seed", "config_hash", "task_file", "task_file_hash", "split"):
        if key in run:
            lines.append(f"- {key}: `{run[key]}`")
    lines += ["", "| | " + " | ".join(h for h, _ in heads) + " |",
              "|---|" + "---:|" * len(heads)]
    for name, metrics in rows(summary):
        lines.append(f"| {name} | " + " | ".join(cell(k, metrics.get(k)) for _, k in heads)
                     + " |")
    lines += ["", "EX and first-try: each task's first sample. Cost columns: per sample.", ""]
    lines += [f"![{p[:-4]}]({p})" for p in PLOTS]
    return "\n".join(lines) + "\n"


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(6, 3.5), layout="tight")
    FigureCanvasAgg(fig)  # render with Agg whatever pyplot's backend is
    return fig, fig.subplots()


def _accuracy_plot(summary: dict[str, Any], path: Path) -> None:
    fig, ax = _figure()
    named = rows(summary)
    names = [n for n, _ in named]
    x = range(len(names))
    for offset, (key, label) in zip((-0.2, 0.2), (("ex", "EX"), ("exec@1", "exec@1")),
                                    strict=True):
        ax.bar([i + offset for i in x], [100 * (m.get(key) or 0) for _, m in named], 0.4,
               label=label)
    ax.set_xticks(list(x), names)
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title("Accuracy by difficulty")
    ax.legend()
    fig.savefig(path, dpi=100)


def _rounds_plot(summary: dict[str, Any], path: Path) -> None:
    fig, ax = _figure()
    hist = summary.get("overall", {}).get("rounds_hist", {})
    ax.bar([int(k) for k in hist], list(hist.values()))
    ax.set_xlabel("revise rounds")
    ax.set_ylabel("samples")
    ax.set_title("Rounds")
    fig.savefig(path, dpi=100)


def _latency_plot(results: Sequence[TaskResult], path: Path) -> None:
    fig, ax = _figure()
    seconds = [s.seconds for r in results for s in r.samples]
    if seconds:
        ax.hist(seconds, bins=min(30, max(1, len(seconds))))
    ax.set_xlabel("seconds per sample")
    ax.set_ylabel("samples")
    ax.set_title("Latency")
    fig.savefig(path, dpi=100)
