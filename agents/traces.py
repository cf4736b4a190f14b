"""Traces (DESIGN.md): every run's steps, kept in an append-only SQLite store.

One record serves logging, replay and training data. A trace is written in one transaction when
its run ends (or is interrupted), so a killed run never leaves half a trace, and rows are never
updated or deleted. Schema changes go in `MIGRATIONS`, append-only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.paths import data_dir

TRACE_VERSION = 1


@dataclass
class Step:
    """One step of a run: a module call (with its messages) or a tool call."""

    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    tool_result: dict[str, Any] | None = None
    seconds: float = 0.0
    tokens: int = 0


@dataclass
class Trace:
    question: str
    db: str
    schema_hash: str
    model: str
    config_hash: str
    adapter: str | None = None
    task_id: str | None = None
    steps: list[Step] = field(default_factory=list)
    final_code: str | None = None
    final_sql: str | None = None
    verified: bool = False  # compiled and executed
    correct: bool | None = None  # matched gold, when known
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    version: int = TRACE_VERSION

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        data = dict(data)
        data["steps"] = [Step(**s) for s in data.get("steps", [])]
        return cls(**data)


MIGRATIONS = [
    """CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        task_id TEXT,
        db TEXT NOT NULL,
        question TEXT NOT NULL,
        model TEXT NOT NULL,
        adapter TEXT,
        verified INTEGER NOT NULL,
        correct INTEGER,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX traces_db ON traces (db, created_at)",
]


class TraceStore:
    """Append-only trace log in `<data>/traces.sqlite` (or `path`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "traces.sqlite"
        self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode = WAL")
        self._lock = threading.Lock()  # one connection, shared by synth's worker threads
        self._migrate()

    def _migrate(self) -> None:
        (done,) = self._con.execute("PRAGMA user_version").fetchone()
        for i, sql in enumerate(MIGRATIONS[done:], start=done + 1):
            with self._con:
                self._con.execute("BEGIN")
                self._con.execute(sql)
                self._con.execute(f"PRAGMA user_version = {i}")

    def append(self, trace: Trace) -> None:
        with self._lock, self._con:
            self._con.execute("BEGIN")
            self._con.execute(
                "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (trace.trace_id, trace.created_at, trace.task_id, trace.db, trace.question,
                 trace.model, trace.adapter, int(trace.verified),
                 None if trace.correct is None else int(trace.correct),
                 json.dumps(trace.to_dict())),
            )

    def get(self, trace_id: str) -> Trace | None:
        row = self._con.execute(
            "SELECT record FROM traces WHERE trace_id = ? OR trace_id LIKE ? ORDER BY created_at "
            "LIMIT 2", (trace_id, trace_id + "%")).fetchall()
        return Trace.from_dict(json.loads(row[0][0])) if len(row) == 1 else None

    def iter(self, db: str | None = None, verified: bool | None = None,
             limit: int | None = None, newest_first: bool = True) -> Iterator[Trace]:
        where, args = [], []
        if db is not None:
            where.append("db = ?")
            args.append(db)
        if verified is not None:
            where.append("verified = ?")
            args.append(int(verified))
        sql = "SELECT record FROM traces"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_at {'DESC' if newest_first else 'ASC'}, rowid"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for (record,) in self._con.execute(sql, args):
            yield Trace.from_dict(json.loads(record))

    def count(self) -> int:
        return self._con.execute("SELECT count(*) FROM traces").fetchone()[0]

    def close(self) -> None:
        self._con.close()
