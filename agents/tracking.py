"""Experiment tracking through a sink: W&B (offline by default) or a do-nothing twin.

`WANDB_MODE` decides: unset means offline (runs kept under `<data>/wandb`, sync them later with
`wandb sync`), `online` needs `wandb login`, `disabled` gives the do-nothing sink (tests do this).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from tools.paths import sub_dir

PROJECT = "devstarl"


class Tracker(Protocol):
    def log(self, metrics: dict[str, Any]) -> None: ...

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None: ...

    def summary(self, metrics: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...


class NullTracker:
    """Accepts everything, writes nothing."""

    def log(self, metrics: dict[str, Any]) -> None:
        pass

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass

    def summary(self, metrics: dict[str, Any]) -> None:
        pass

    def finish(self) -> None:
        pass


class WandbTracker:
    def __init__(self, job_type: str, config: dict[str, Any], name: str | None = None) -> None:
        import wandb

        self._wandb = wandb
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT),
                              dir=str(sub_dir("wandb")), job_type=job_type, config=config,
                              name=name, mode=os.environ.get("WANDB_MODE", "offline"),
                              reinit="finish_previous")

    def log(self, metrics: dict[str, Any]) -> None:
        self.run.log(metrics)

    def table(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.run.log({name: self._wandb.Table(columns=columns, data=rows)})

    def summary(self, metrics: dict[str, Any]) -> None:
        self.run.summary.update(metrics)

    def finish(self) -> None:
        self.run.finish()


def start_run(job_type: str, config: dict[str, Any], name: str | None = None) -> Tracker:
    """A tracker for one synth, eval, training or optimizer run."""
    if os.environ.get("WANDB_MODE", "offline") == "disabled":
        return NullTracker()
    return WandbTracker(job_type, config, name)
