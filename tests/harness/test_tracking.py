"""The tracking sink: W&B offline writes a run under the data folder; disabled writes nothing."""

from __future__ import annotations

import pytest

from harness.tracking import NullTracker, WandbTracker, start_run
from tools.paths import sub_dir


def test_disabled_is_the_do_nothing_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    tracker = start_run("eval", {"a": 1})
    assert isinstance(tracker, NullTracker)
    tracker.log({"x": 1})
    tracker.finish()


def test_offline_run_keeps_config_metrics_and_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    before = set(sub_dir("wandb").rglob("offline-run-*"))
    tracker = start_run("eval", {"model": "m", "seed": 3})
    assert isinstance(tracker, WandbTracker)
    tracker.log({"task/correct": 1.0})
    tracker.table("tasks", ["task", "correct"], [["t1", True]])
    tracker.summary({"ex": 0.5})
    tracker.finish()
    runs = set(sub_dir("wandb").rglob("offline-run-*")) - before
    assert len(runs) == 1
    (run,) = runs
    (log,) = [p for p in run.iterdir() if p.suffix == ".wandb"]
    data = log.read_bytes()  # offline runs keep config, metrics and summary in this log
    assert b"seed" in data and b"task/correct" in data and b"ex" in data
    assert list((run / "files" / "media" / "table").glob("tasks_*.table.json"))
