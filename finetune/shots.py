"""Building a database's bank of verified examples (`agents.shots`) from tasks the schema-aware
bootstrapper draws for it: every program executed and checked, none taken from a task file.
Once per database and schema version (about a minute for the demo database on two cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agents.shots import Shot, shots_path, write_shots
from finetune.bootstrap import bootstrap
from tools.database import Database
from tools.schema import inspect

SHOTS_N = 200  # enough to cover each shape of question a few times over the main tables


def ensure_shots(db: Database, n: int = SHOTS_N, seed: int = 0, progress: bool = True) -> Path:
    """The database's shots file, bootstrapped first when there is none for its schema."""
    path = shots_path(db.name, inspect(db))
    if path.is_file():
        return path
    if progress:
        print(f"drawing {n} verified examples for {db.name} (once per schema)", file=sys.stderr)
    start = time.perf_counter()
    outcome = bootstrap(db, n=n, seed=seed, progress=progress)
    write_shots(path, [Shot(t["question"], t["gold_code"]) for t in outcome.tasks])
    if progress:
        print(f"{len(outcome.tasks)} examples in {time.perf_counter() - start:.0f} s: {path}",
              file=sys.stderr)
    return path
