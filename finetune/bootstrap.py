"""Bootstrap verified tasks for a database (issue 6): sample Ibis programs from its schema, run
each in the sandbox, keep those with meaningful new results, and phrase each as a question.

Three steps:
1. `finetune.profile`: our own read-only queries describe every column and find join keys.
2. `finetune.sampler.Sampler`: draws a program as Ibis source text plus a structured spec of
   what it computes; `finetune.verbalize` turns the spec into a question.
3. `bootstrap` (here): runs each program on the full data in the sandbox and keeps it when the
   result is non-empty, small, not constant and not seen before, and the question is new; then
   compiles it for the gold SQL. Seeded: the same seed and database give the same tasks.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agents.shots import normalized as normalize_question
from finetune.profile import profile
from finetune.sampler import ROW_CAP, Draw, Sampler
from finetune.verbalize import question
from tools.calls import compile_code, execute
from tools.database import Database
from tools.paths import write_atomic
from tools.records import ToolResult
from tools.sandbox import Sandbox, default_sandbox
from tools.schema import inspect

# Checking results ------------------------------------------------------------------------------


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return float(f"{float(v):.6g}")
    return v


def fingerprint(result: ToolResult) -> str:
    """The result as EX compares it: rows as a multiset, columns in any order and by any name,
    numbers to 6 significant digits."""
    rows = result.preview["rows"] if result.preview else []
    cols = [[_norm(v) for v in col] for col in zip(*rows, strict=True)] if rows else []
    cols.sort(key=lambda col: json.dumps(sorted(col, key=_sort_key), default=str))
    canon = sorted(json.dumps(list(r), default=str) for r in zip(*cols, strict=True))
    return json.dumps([len(cols), canon])


def _sort_key(v: Any) -> tuple[int, str]:
    return (0, "") if v is None else (1, json.dumps(v, default=str))


def judge(result: ToolResult, draw: Draw) -> str | None:
    """Why a result is not worth a task, or None when it is."""
    if not result.ok:
        return result.kind
    rows = result.preview["rows"]
    if not result.rows:
        return "empty"
    if result.rows > ROW_CAP:
        return "too many rows"
    columns = list(zip(*rows, strict=True))
    if any(all(v is None for v in col) for col in columns):
        return "null column"
    if len(rows) == 1 and len(rows[0]) == 1 and rows[0][0] in (0, 0.0, None):
        return "zero"
    if len(rows) > 1 and all(r == rows[0] for r in rows):
        return "constant"
    names = result.preview["columns"]
    for name, col in zip(names, columns, strict=True):
        if name in draw.computed and len(col) >= 3 and len(set(map(str, col))) == 1:
            return "constant"
    return None


# The loop --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    tasks: list[dict[str, Any]]
    tried: int  # programs executed
    drawn: int  # programs sampled, executed or not
    reasons: Counter  # why candidates were dropped
    seconds: float
    kinds: Counter  # kept tasks per construct
    failures: list[tuple[str, str]] = field(default_factory=list)  # (program, error), a few


def bootstrap(db: Database, n: int = 300, seed: int = 0, budget: float = 5.0,
              db_name: str | None = None, sandbox: Sandbox | None = None,
              progress: bool = True) -> Outcome:
    """Up to `n` verified tasks for `db`, executing at most `budget * n` candidate programs.

    `db_name` is what the tasks' `db` field holds (as the user named the database, so
    `harness.tasks.resolve_db` finds it again); ids are "<database>-boot-00001", ...."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    box = sandbox or default_sandbox()
    schema = inspect(db)
    rng = random.Random(seed)
    sampler = Sampler(profile(db, schema), rng)
    name = db_name or db.name
    tasks: list[dict[str, Any]] = []
    seen_code: set[str] = set()
    seen_result: set[str] = set()
    seen_question: set[str] = set()
    reasons: Counter = Counter()
    kinds: Counter = Counter()
    failures: list[tuple[str, str]] = []
    tried = drawn = 0
    bar = tqdm(total=n, desc=f"bootstrap {db.name}", unit="task", disable=not progress,
               leave=False)
    try:
        while len(tasks) < n and tried < budget * n and drawn < 50 * n:
            drawn += 1
            kind = sampler.pick_kind()
            draw = sampler.draw(kind)
            if draw is None or draw.code in seen_code:
                reasons["unsupported" if draw is None else "same program"] += 1
                sampler.feedback(kind, False)
                continue
            seen_code.add(draw.code)
            text = question(draw.spec, sampler.namer, rng)
            if normalize_question(text) in seen_question:
                reasons["same question"] += 1
                sampler.feedback(kind, False)
                continue
            tried += 1
            result = execute(draw.code, db, sandbox=box, max_rows=ROW_CAP + 1)
            why = judge(result, draw)
            if why is None:
                fp = fingerprint(result)
                why = "same result" if fp in seen_result else None
            if why is None:
                compiled = compile_code(draw.code, schema, dialect=db.dialect, sandbox=box)
                why = None if compiled.ok else f"compile {compiled.kind}"
            sampler.feedback(kind, why is None)
            if why is not None:
                reasons[why] += 1
                if not result.ok and len(failures) < 20:
                    failures.append((draw.code, result.error))
                continue
            seen_result.add(fp)
            seen_question.add(normalize_question(text))
            kinds[kind] += 1
            tasks.append({
                "version": 1, "id": f"{db.name}-boot-{len(tasks) + 1:05d}", "db": name,
                "question": text, "gold_code": draw.code, "gold_sql": compiled.sql,
                "ordered": draw.ordered, "difficulty": draw.difficulty, "source": "bootstrap",
                "category": draw.category,
            })
            bar.set_postfix(tried=tried, refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return Outcome(tasks, tried, drawn, reasons, time.perf_counter() - t0, kinds, failures)


def write_tasks(tasks: list[dict[str, Any]], path: Any) -> None:
    from pathlib import Path

    write_atomic(Path(path), "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks))
