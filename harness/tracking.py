"""Experiment tracking through a sink: W&B (offline by default) or a do-nothing twin.

`WANDB_MODE` decides: unset means offline (runs kept under `<data>/wandb`, sync them later with
`wandb sync`), `online` needs `wandb login`, `disabled` gives the do-nothing sink (tests do this).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
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


def run_meta(tasks: Path, lm_config: Any, agent_config: Any, synth_config: Any,
             split: str | None, limit: int | None) -> dict[str, Any]:
    """What every eval records: model, adapter, config hash, task-file hash and seed."""
    config = {"lm": lm_config.to_dict(), "agent": asdict(agent_config),
              "synth": asdict(synth_config), "split": split, "limit": limit}
    return {
        **config,
        "model": lm_config.model,
        "adapter": lm_config.adapter,
        "seed": lm_config.seed,
        "config_hash": _hash(json.dumps(config, sort_keys=True).encode()),
        "task_file": str(tasks),
        "task_file_hash": _hash(tasks.read_bytes()),
    }


def meta_path(results: Path) -> Path:
    return results.with_name(results.name + ".meta.json")


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, name + "/")
        elif isinstance(value, int | float | str | bool) or value is None:
            flat[name] = value
    return flat


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
