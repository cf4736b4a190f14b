"""What the bench scripts share: the EX table of a set of runs, and a latency histogram."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


def print_runs(title: str, first: str, runs: dict[str, dict]) -> None:
    """One row per run: EX, comp@1, exec@1, p50 seconds, tasks (the keys every EX bench writes)."""
    table = Table(title=title)
    for col in (first, "EX", "comp@1", "exec@1", "p50 s", "n"):
        table.add_column(col)
    for name, f in runs.items():
        table.add_row(name, f"{f['ex']:.3f}", f"{f['comp_at_1']:.3f}", f"{f['exec_at_1']:.3f}",
                      f"{f['p50_s']:.1f}", str(f["n"]))
    Console().print(table)


def save_histogram(path: Path, series: list[list[float]], labels: list[str], *, xlabel: str,
                   title: str, goal: tuple[float, str] | None = None, bins: int = 20) -> None:
    """A histogram of one or more series, with an optional goal line, saved as `path`."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(series if len(series) > 1 else series[0], bins=bins,
            label=labels if len(series) > 1 else None)
    if goal is not None:
        ax.axvline(goal[0], color="red", linestyle="--", label=goal[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    if goal is not None or len(series) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
