"""The fixed per-table sample `execute_on_sample` runs on, built once per database and cached.

Small tables are copied whole so joins along keys still find their partners; larger ones are a
seeded reservoir sample. Samples are local DuckDB files, whatever the source backend.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from tools.database import Database
from tools.errors import DatabaseError
from tools.paths import sub_dir

SAMPLE_VERSION = 1
SAMPLE_ROWS = 10_000  # tables up to this size are copied whole
SEED = 13


def sample_path(db: Database) -> Path:
    """The sample database of `db`, building it first when missing."""
    path = sub_dir("samples") / f"{db.key}.v{SAMPLE_VERSION}.duckdb"
    if not path.exists():
        _build(db, path)
    return path


def _build(db: Database, path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        target = Path(tmp) / "sample.duckdb"
        con = duckdb.connect(str(target))
        try:
            con.execute("SET threads = 1")  # seeded reservoir samples repeat only single-threaded
            if db.path is not None:
                _copy_duckdb(con, db.path)
            else:
                _copy_ibis(con, db)
        except duckdb.Error as e:
            raise DatabaseError(f"cannot sample {db.name}: {e}") from e
        finally:
            con.close()
        os.replace(target, path)


def _copy_duckdb(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    literal = "'" + str(source).replace("'", "''") + "'"
    con.execute(f"ATTACH {literal} AS src (READ_ONLY)")  # ATTACH takes no parameters
    tables = con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE database_name = 'src' "
        "AND schema_name = 'main' ORDER BY table_name"
    ).fetchall()
    for name, _ in tables:
        ident = '"' + name.replace('"', '""') + '"'
        rows = con.execute(f"SELECT count(*) FROM src.{ident}").fetchone()[0]
        sample = "" if rows <= SAMPLE_ROWS else (
            f" USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE ({SEED})"
        )
        con.execute(f"CREATE TABLE {ident} AS SELECT * FROM src.{ident}{sample}")
    con.execute("DETACH src")


def _copy_ibis(con: duckdb.DuckDBPyConnection, db: Database) -> None:
    """Other backends: draw the sample on their engine, bring it over as Arrow."""
    source = db.connect()
    try:
        for name in source.list_tables():
            t = source.table(name)
            rows = int(t.count().to_pyarrow().as_py())
            if rows > SAMPLE_ROWS:
                t = _seeded_sample(t, rows)
            con.register("_devstarl_sample", t.to_pyarrow())
            ident = '"' + name.replace('"', '""') + '"'
            con.execute(f"CREATE TABLE {ident} AS SELECT * FROM _devstarl_sample")
            con.unregister("_devstarl_sample")
    finally:
        source.disconnect()


def _seeded_sample(t: Any, rows: int) -> Any:
    """A seeded random sample where the engine has one, else its first rows."""
    import ibis.common.exceptions as ibis_errors

    sampled = t.sample(SAMPLE_ROWS / rows, seed=SEED)
    try:
        sampled.count().to_pyarrow()
        return sampled
    except ibis_errors.UnsupportedOperationError:
        return t.limit(SAMPLE_ROWS)
