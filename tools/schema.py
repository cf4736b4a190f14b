"""Schema inspection: tables, columns, types, row counts, keys and a few values per text column.

The rendered summary is what the agent puts in front of the model. Inspection runs our own
queries through a read-only connection, is cached per database key, and never runs generated code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from tools import engines
from tools.database import Database, one_line
from tools.errors import DatabaseError
from tools.paths import sub_dir, write_atomic

SCHEMA_VERSION = 1
LOW_CARDINALITY = 25  # text columns with at most this many distinct values list some of them
MAX_VALUES = 6
MAX_VALUE_CHARS = 40


@dataclass(frozen=True)
class ForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # an ibis dtype string, e.g. "int32", "!string", "timestamp(6)"
    values: list[str] | None = None  # most common values of a low-cardinality text column
    distinct: int | None = None


@dataclass(frozen=True)
class Table:
    name: str
    rows: int
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


@dataclass(frozen=True)
class Schema:
    db: str
    tables: list[Table]
    version: int = SCHEMA_VERSION

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.tables)
        raise DatabaseError(f"unknown table {name!r} in {self.db} (tables: {known})")

    def ibis_schema(self) -> dict[str, dict[str, str]]:
        """{table: {column: dtype}}: all `compile` needs to build unbound tables."""
        return {t.name: {c.name: c.type for c in t.columns} for t in self.tables}

    @property
    def hash(self) -> str:
        text = json.dumps(self.ibis_schema(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def render(self, tables: Iterable[str] | None = None, max_values: int = 4) -> str:
        """A compact text summary for a prompt: one block per table (all, or just `tables`)."""
        wanted = None if tables is None else set(tables)
        blocks = []
        for t in self.tables:
            if wanted is not None and t.name not in wanted:
                continue
            cols = []
            for c in t.columns:
                text = f"{c.name} {short_type(c.type)}"
                if c.values:
                    text += " (e.g. " + ", ".join(repr(v) for v in c.values[:max_values]) + ")"
                cols.append(text)
            lines = [f"table {t.name} ({t.rows} rows): " + ", ".join(cols)]
            if t.primary_key:
                lines.append(f"  primary key: {', '.join(t.primary_key)}")
            for fk in t.foreign_keys:
                if wanted is None or fk.ref_table in wanted:
                    lines.append(
                        f"  {', '.join(fk.columns)} -> {fk.ref_table}.{', '.join(fk.ref_columns)}"
                    )
            blocks.append("\n".join(lines))
        return "\n".join(blocks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        tables = [
            Table(
                name=t["name"],
                rows=t["rows"],
                columns=[Column(**c) for c in t["columns"]],
                primary_key=t.get("primary_key", []),
                foreign_keys=[ForeignKey(**fk) for fk in t.get("foreign_keys", [])],
            )
            for t in data["tables"]
        ]
        return cls(db=data["db"], tables=tables, version=data.get("version", SCHEMA_VERSION))


def short_type(dtype: str) -> str:
    """An ibis dtype as a prompt shows it: int32 -> int, float64 -> float, timestamp(6) ->
    timestamp; nullability markers dropped."""
    text = dtype.lstrip("!")
    for pattern, short in ((r"u?int\d*$", "int"), (r"float\d*$", "float"),
                           (r"timestamp\b", "timestamp"), (r"decimal\b", "decimal")):
        if re.match(pattern, text):
            return short
    return text


def inspect(db: Database, refresh: bool = False) -> Schema:
    """The schema of `db`, from the cache when the database has not changed."""
    cache = sub_dir("schemas") / f"{db.key}.v{SCHEMA_VERSION}.json"
    if cache.exists() and not refresh:
        return Schema.from_dict(json.loads(cache.read_text()))
    schema = _inspect(db)
    write_atomic(cache, json.dumps(schema.to_dict()))
    return schema


def _inspect(db: Database) -> Schema:
    con = db.connect()
    try:
        if db.path is not None:
            keys = _duckdb_keys(db)
        else:
            keys = _keys(engines.key_constraints(con))
        tables = []
        for name in sorted(con.list_tables()):
            try:
                t = con.table(name)
                rows, distinct = _counts(t)
                columns = [_column(t, c, dtype, distinct.get(c))
                           for c, dtype in t.schema().items()]
            except Exception as e:  # noqa: BLE001 - a broken table names itself
                raise DatabaseError(f"cannot inspect table {name!r} of {db.label}: "
                                    f"{one_line(e)}") from e
            pk, fks = keys.get(name, ([], []))
            tables.append(Table(name, rows, columns, pk, fks))
    finally:
        con.disconnect()
    if not tables:
        raise DatabaseError(f"database {db.label} has no tables")
    return Schema(db=db.name, tables=tables)


def _counts(t: Any) -> tuple[int, dict[str, int]]:
    """The table's row count and each text column's distinct count, in one query (a job per
    query is what a remote engine charges for)."""
    strings = [c for c, dtype in t.schema().items() if dtype.is_string()]
    stats = t.agg(n_rows=t.count(), **{f"d{i}": t[c].nunique() for i, c in enumerate(strings)})
    (row,) = stats.to_pyarrow().to_pylist()
    return int(row["n_rows"]), {c: int(row[f"d{i}"]) for i, c in enumerate(strings)}


def _column(t: Any, name: str, dtype: Any, distinct: int | None) -> Column:
    if not dtype.is_string() or distinct is None:
        return Column(name, str(dtype))
    col = t[name]
    if distinct > LOW_CARDINALITY:
        return Column(name, str(dtype), distinct=distinct)
    counts = t.filter(col.notnull()).group_by(v=col).agg(n=col.count())
    top = counts.order_by([counts.n.desc(), counts.v]).limit(MAX_VALUES)
    values = top.v.to_pyarrow().to_pylist()
    return Column(name, str(dtype), [str(v)[:MAX_VALUE_CHARS] for v in values], distinct)


def _duckdb_keys(db: Database) -> dict[str, tuple[list[str], list[ForeignKey]]]:
    con = duckdb.connect(str(db.path), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, constraint_type, constraint_column_names, "
            "referenced_table, referenced_column_names FROM duckdb_constraints() "
            "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
        ).fetchall()
    finally:
        con.close()
    return _keys(rows)


def _keys(rows: Iterable[tuple]) -> dict[str, tuple[list[str], list[ForeignKey]]]:
    keys: dict[str, tuple[list[str], list[ForeignKey]]] = {}
    for table, kind, cols, ref_table, ref_cols in rows:
        pk, fks = keys.setdefault(table, ([], []))
        if kind == "PRIMARY KEY":
            pk.extend(cols)
        else:
            fks.append(ForeignKey(list(cols), ref_table, list(ref_cols)))
    return keys
