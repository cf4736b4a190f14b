"""Worked examples recalled by similarity: verified question -> program pairs over this
database's own tables, the ones whose questions read most like the user's (BM25).

A small model writes the program it has just seen for a question like this one far more
reliably than it follows rules, so the draft prompt shows the few nearest pairs. The pairs
are verified by execution before they are stored: tasks the schema-aware bootstrapper drew
for the database (`finetune.shots` writes them) or any other verified task file. One file
per database and schema version: `<data>/shots/<db>-<schema hash>.jsonl`, so a changed
schema never shows programs written for the old one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rank_bm25 import BM25Okapi

from retrieval.tokens import tokenize
from tools.errors import DevstarlError
from tools.jsonl import json_lines
from tools.paths import sub_dir, write_atomic
from tools.schema import Schema


class ShotsError(DevstarlError):
    """A shots file that cannot be read."""


@dataclass(frozen=True)
class Shot:
    question: str
    code: str


def normalized(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", question.lower()).strip()


class ShotBank:
    """Shots searchable by question; `similar` never returns the question itself, so a task
    in the bank is not shown its own answer."""

    def __init__(self, shots: Iterable[Shot]):
        self.shots = list(shots)
        self._index = BM25Okapi([tokenize(s.question) for s in self.shots]) if self.shots else None

    def __len__(self) -> int:
        return len(self.shots)

    def similar(self, question: str, k: int) -> list[Shot]:
        if self._index is None or k <= 0:
            return []
        scores = self._index.get_scores(tokenize(question))
        asked = normalized(question)
        ranked = sorted(range(len(self.shots)), key=lambda i: (-scores[i], i))
        return [self.shots[i] for i in ranked
                if scores[i] > 0 and normalized(self.shots[i].question) != asked][:k]


def render(shots: list[Shot]) -> str:
    """The pairs as the examples field shows them; the nearest last, next to the question."""
    return "\n".join(f"Q: {s.question}\n{s.code}" for s in reversed(shots))


def shots_path(db_name: str, schema: Schema) -> Path:
    return sub_dir("shots") / f"{db_name}-{schema.hash}.jsonl"


def write_shots(path: Path, shots: Iterable[Shot]) -> Path:
    """Write atomically: a killed write leaves the old file or none, never half of one."""
    write_atomic(path, "".join(json.dumps({"question": s.question, "code": s.code}) + "\n"
                               for s in shots))
    return path


def read_shots(path: Path) -> list[Shot]:
    """The shots of a file `write_shots` wrote; ShotsError, one line naming the file and the
    line, when it is not one."""
    shots = []
    for number, row in json_lines(path, ShotsError, "shots file", "a shot"):
        if not (isinstance(row, dict) and isinstance(row.get("question"), str)
                and isinstance(row.get("code"), str)):
            raise ShotsError(f'{path}:{number}: not a shot (an object with "question" and '
                             '"code" strings)')
        shots.append(Shot(question=row["question"], code=row["code"]))
    return shots


def load_bank(db_name: str, schema: Schema) -> ShotBank | None:
    """The database's bank for this schema, or None when none was built."""
    path = shots_path(db_name, schema)
    return ShotBank(read_shots(path)) if path.is_file() else None
