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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.errors import DevstarlError
from tools.paths import data_dir

TRACE_VERSION = 1
RATINGS = ("up", "down")


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


_listener: ContextVar[Callable[[Step], None] | None] = ContextVar("step_listener", default=None)


class Steps(list):
    """A trace's steps, which tell the listener set by `watch_steps` (in this context) of each
    one as it is appended: how the web page shows a run while it runs."""

    def append(self, step: Step) -> None:
        super().append(step)
        if (listener := _listener.get()) is not None:
            listener(step)


@contextmanager
def watch_steps(listener: Callable[[Step], None]) -> Iterator[None]:
    """Call `listener(step)` for every step appended to a trace in this thread meanwhile."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@dataclass
class Trace:
    question: str
    db: str
    schema_hash: str
    model: str
    config_hash: str
    adapter: str | None = None
    task_id: str | None = None
    steps: list[Step] = field(default_factory=Steps)
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
        data["steps"] = Steps(Step(**s) for s in data.get("steps", []))
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
    # A person's verdict on an answer (the web page's thumbs), appended beside the trace.
    """CREATE TABLE feedback (
        trace_id TEXT NOT NULL REFERENCES traces (trace_id),
        created_at TEXT NOT NULL,
        rating TEXT NOT NULL,
        comment TEXT
    )""",
    "CREATE INDEX feedback_trace ON feedback (trace_id, created_at)",
]


class TraceStoreError(DevstarlError):
    """The trace store cannot be written (a full disk, say); earlier traces are intact."""


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
        """Store `trace` whole or not at all; a full disk is one clear error."""
        try:
            with self._lock, self._con:
                self._con.execute("BEGIN")
                self._con.execute(
                    "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (trace.trace_id, trace.created_at, trace.task_id, trace.db, trace.question,
                     trace.model, trace.adapter, int(trace.verified),
                     None if trace.correct is None else int(trace.correct),
                     json.dumps(trace.to_dict())),
                )
        except sqlite3.OperationalError as e:  # "database or disk is full", a locked file
            raise TraceStoreError(f"cannot store the trace in {self.path}: {e}") from None

    def get(self, trace_id: str) -> Trace | None:
        row = self._con.execute(
            "SELECT record FROM traces WHERE trace_id = ? OR trace_id LIKE ? ORDER BY created_at "
            "LIMIT 2", (trace_id, trace_id + "%")).fetchall()
        return Trace.from_dict(json.loads(row[0][0])) if len(row) == 1 else None

    def add_feedback(self, trace_id: str, rating: str, comment: str | None = None
                     ) -> dict[str, Any]:
        """Append a verdict ("up" or "down") on the trace with this exact id; the trace itself
        is not rewritten. KeyError when no such trace is stored."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        entry = {"rating": rating, "comment": comment,
                 "created_at": datetime.now(UTC).isoformat()}
        with self._lock, self._con:
            self._con.execute("BEGIN")
            if self._con.execute("SELECT 1 FROM traces WHERE trace_id = ?",
                                 (trace_id,)).fetchone() is None:
                raise KeyError(trace_id)
            self._con.execute("INSERT INTO feedback VALUES (?, ?, ?, ?)",
                              (trace_id, entry["created_at"], rating, comment))
        return entry

    def feedback(self, trace_id: str) -> list[dict[str, Any]]:
        """Every verdict on the trace, oldest first."""
        rows = self._con.execute(
            "SELECT rating, comment, created_at FROM feedback WHERE trace_id = ? "
            "ORDER BY created_at, rowid", (trace_id,)).fetchall()
        return [{"rating": r, "comment": c, "created_at": t} for r, c, t in rows]

    def ratings(self, db: str | None = None) -> dict[str, str]:
        """The latest verdict on each rated trace (of `db`, when given), by trace id: a person
        may change their mind, and the last word stands."""
        sql = ("SELECT f.trace_id, f.rating FROM feedback f JOIN traces t USING (trace_id)"
               + (" WHERE t.db = ?" if db is not None else "")
               + " ORDER BY f.created_at, f.rowid")
        return dict(self._con.execute(sql, [] if db is None else [db]).fetchall())

    def iter(self, db: str | None = None, verified: bool | None = None,
             limit: int | None = None, newest_first: bool = True,
             since: str | None = None) -> Iterator[Trace]:
        """Stored traces; `since` (an ISO time in UTC, as `created_at` holds) keeps those
        recorded after it."""
        where, args = [], []
        if since is not None:
            where.append("created_at > ?")
            args.append(since)
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
