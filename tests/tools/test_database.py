"""Resolving databases: the demo, DuckDB files, URLs, and every kind of bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from tools.calls import execute, execute_on_sample
from tools.database import Database, redact, resolve
from tools.demo import DEMO_NAME, build_demo
from tools.errors import DatabaseError
from tools.schema import Schema, inspect


def test_demo_has_real_typed_tables(demo_db: Database, demo_schema: Schema) -> None:
    assert demo_db.name == DEMO_NAME
    rows = {t.name: t.rows for t in demo_schema.tables}
    assert rows == {"airlines": 16, "airports": 1458, "flights": 336_776, "planes": 3322,
                    "weather": 26_115}
    flights = {c.name: c.type for c in demo_schema.table("flights").columns}
    assert flights["time_hour"].startswith("timestamp")
    assert flights["arr_delay"] == "int32" and flights["distance"] == "int32"
    assert demo_schema.table("airlines").primary_key == ["carrier"]
    fk = demo_schema.table("flights").foreign_keys[0]
    assert (fk.columns, fk.ref_table, fk.ref_columns) == (["carrier"], "airlines", ["carrier"])


def test_demo_time_hour_is_local_new_york_time(demo_db: Database) -> None:
    con = duckdb.connect(str(demo_db.path), read_only=True)
    first = con.execute(
        "SELECT dep_time, hour, time_hour FROM flights ORDER BY year, month, day, sched_dep_time "
        "LIMIT 1").fetchone()
    con.close()
    assert first[0] == 517 and first[1] == 5 and first[2].hour == 5


def test_low_cardinality_values_and_render(demo_schema: Schema) -> None:
    origin = next(c for c in demo_schema.table("flights").columns if c.name == "origin")
    assert sorted(origin.values) == ["EWR", "JFK", "LGA"]
    text = demo_schema.render()
    assert "table flights (336776 rows)" in text and "carrier -> airlines.carrier" in text


def test_rebuild_is_atomic_and_identical(tmp_path: Path, demo_db: Database) -> None:
    target = tmp_path / "again.duckdb"
    build_demo(target)
    assert inspect(resolve(target)).hash == inspect(demo_db).hash
    assert [p.name for p in tmp_path.iterdir()] == ["again.duckdb"]  # no temp files left


def test_schema_cache_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "small.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a INTEGER)")
    con.close()
    assert [c.name for c in inspect(resolve(path)).table("t").columns] == ["a"]
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE t ADD COLUMN b VARCHAR")
    con.close()
    assert [c.name for c in inspect(resolve(path)).table("t").columns] == ["a", "b"]


def test_duckdb_url_resolves_to_the_file(demo_db: Database) -> None:
    db = resolve(f"duckdb://{demo_db.path}?read_only=true")
    assert db.path == demo_db.path


def test_sample_database_from_spider(sample_dbs: Path) -> None:
    schema = inspect(resolve(sample_dbs / "concert_singer.duckdb"))
    assert {t.name for t in schema.tables} == {"concert", "singer", "singer_in_concert", "stadium"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.duckdb", "database file not found"),
        (lambda d: d, "not a file"),
        (lambda d: _write(d / "text.duckdb", b"hello, I am not a database"), "not a DuckDB"),
        (lambda d: _write(d / "empty.duckdb", b""), "not a DuckDB"),
        (lambda d: _write(d / "fake.duckdb", b"\0" * 8 + b"DUCK" + b"\x07" * 5000),
         "corrupt or unreadable"),
    ],
    ids=["missing", "directory", "text-file", "empty-file", "corrupt"],
)
def test_bad_database_is_one_clear_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as info:
        resolve(make(tmp_path))
    assert "\n" not in str(info.value)


def test_truncated_database_is_corrupt(tmp_path: Path, demo_db: Database) -> None:
    data = demo_db.path.read_bytes()
    path = _write(tmp_path / "cut.duckdb", data[: len(data) // 3])
    with pytest.raises(DatabaseError):
        inspect(resolve(path))


def test_unknown_table_and_empty_database(tmp_path: Path, demo_schema: Schema) -> None:
    with pytest.raises(DatabaseError, match="unknown table 'nope'.*flights"):
        demo_schema.table("nope")
    path = tmp_path / "none.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(DatabaseError, match="no tables"):
        inspect(resolve(path))


def test_urls_without_backend_or_scheme(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="not installed"):
        resolve("mysql://user:secret@localhost:1/db")
    with pytest.raises(DatabaseError, match=r"cannot connect to postgres://user:\*\*\*@"):
        resolve("postgres://user:secret@127.0.0.1:1/db")  # the backend is there, no server
    with pytest.raises(DatabaseError, match="cannot connect"):
        resolve("nosuchscheme://x")
    assert redact("postgres://user:secret@host/db") == "postgres://user:***@host/db"


def test_source_folder_is_left_untouched(tmp_path: Path, demo_db: Database) -> None:
    """Inspecting, sampling and running leave the source file and its folder as they were."""
    source = tmp_path / "copy.duckdb"
    shutil.copy(demo_db.path, source)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    db = resolve(source)
    inspect(db, refresh=True)
    assert execute_on_sample("flights.count()", db).ok
    assert execute("flights.count()", db).ok
    assert [p.name for p in tmp_path.iterdir()] == ["copy.duckdb"]  # no WAL or temp files
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_other_ibis_backend_by_url(tmp_path: Path) -> None:
    """A non-DuckDB backend (SQLite here): inspected, sampled into DuckDB, run in full."""
    import sqlite3

    path = tmp_path / "shop.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id INTEGER, amount REAL, city TEXT)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                    [(i, i * 1.5, "Oslo" if i % 2 else "Lima") for i in range(30_000)])
    con.commit()
    con.close()
    db = resolve(f"sqlite:///{path}")
    assert db.path is None and db.url.startswith("sqlite://")
    schema = inspect(db)
    assert schema.table("orders").rows == 30_000
    code = "orders.group_by('city').agg(n=_.count()).order_by('city')"
    sampled = execute_on_sample(code, db)
    assert sampled.ok and sum(row[1] for row in sampled.preview["rows"]) == 10_000
    full = execute(code, db)
    assert full.ok and full.preview["rows"] == [["Lima", 15_000], ["Oslo", 15_000]]
