"""Building a database's bank of verified examples: drawn once per schema, every program
executed, and used by the agent `build_agent` makes (real sample database, real sandbox)."""

from __future__ import annotations

from pathlib import Path

from agents.shots import load_bank, read_shots, shots_path
from finetune import shots as shots_module
from finetune.shots import ensure_shots
from tools.calls import execute
from tools.database import resolve
from tools.schema import inspect


def test_a_bank_is_drawn_once_per_schema_and_every_program_runs(sample_dbs: Path,
                                                                monkeypatch) -> None:
    db = resolve(sample_dbs / "concert_singer.duckdb")
    path = ensure_shots(db, n=12, progress=False)
    assert path == shots_path(db.name, inspect(db))
    shots = read_shots(path)
    assert 8 <= len(shots) <= 12 and len({s.question for s in shots}) == len(shots)
    for shot in shots[:4]:
        assert execute(shot.code, db).ok, shot
    bank = load_bank(db.name, inspect(db))
    assert bank is not None and len(bank) == len(shots)

    def no_bootstrap(*args, **kwargs):
        raise AssertionError("the bank was drawn again")

    monkeypatch.setattr(shots_module, "bootstrap", no_bootstrap)
    assert ensure_shots(db, n=12, progress=False) == path  # built: reused as it is
