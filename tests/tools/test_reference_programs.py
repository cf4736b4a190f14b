"""The reference programs over the demo database compile, run, and keep their SQL (snapshots).

Refresh the snapshots after an intended change with DEVSTARL_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tools.calls import compile_code, execute_on_sample
from tools.database import Database
from tools.sandbox import Sandbox
from tools.schema import Schema

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = [
    json.loads(line) for line in (ROOT / "bench/tasks/reference.jsonl").read_text().splitlines()
]
SNAPSHOTS = Path(__file__).parent / "snapshots" / "reference"
CATEGORIES = {"filter", "join", "group_by", "order_limit", "date", "string", "window"}


def test_reference_set_covers_the_ground() -> None:
    assert len(REFERENCE) >= 30
    assert CATEGORIES <= {task["category"] for task in REFERENCE}


@pytest.mark.parametrize("task", REFERENCE, ids=[t["id"] for t in REFERENCE])
def test_reference_program_sql_snapshot(task: dict, demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code(task["gold_code"], demo_schema, sandbox=sandbox)
    assert result.ok, result.error
    snapshot = SNAPSHOTS / f"{task['id']}.sql"
    if os.environ.get("DEVSTARL_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(result.sql + "\n")
    assert snapshot.exists(), f"no snapshot for {task['id']}: run with DEVSTARL_UPDATE_SNAPSHOTS=1"
    assert result.sql + "\n" == snapshot.read_text()


@pytest.mark.parametrize("task", REFERENCE, ids=[t["id"] for t in REFERENCE])
def test_reference_program_runs_on_sample(task: dict, demo_db: Database, sandbox: Sandbox) -> None:
    result = execute_on_sample(task["gold_code"], demo_db, sandbox=sandbox)
    assert result.ok, result.error
    assert result.rows is not None and result.preview["columns"]
