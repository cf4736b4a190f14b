"""Profiling a database for the bootstrap sampler: our own read-only queries (never generated
code) describe every column (its kind, nulls, distinct count, real values to filter on) and
find which column pairs are join keys (declared keys, same-name id columns, or names that point
at a table, checked on the data).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from finetune.verbalize import Namer
from tools.database import Database
from tools.schema import Schema

MAX_VALUES = 200  # distinct values fetched per column; above, the most common ones
MAX_KEY_VALUES = 50_000  # distinct values fetched to check a join key pair
_KEY_NAME = re.compile(r"(?i)(^|_)(id|code|no|num|number|key)$|(?<=[a-z])(Id|ID|Code|No|Num)$"
                       r"|^uid$|^id$")
_YEAR_NAME = re.compile(r"(?i)year")
_OWN_KEY_NAMES = frozenset({"id", "uid", "key", "code", "no", "num", "number"})


# Profile ---------------------------------------------------------------------------------------


@dataclass
class Col:
    """One column as the sampler sees it."""

    table: str
    name: str
    kind: str  # num | text | time | bool | other
    integer: bool
    rows: int
    nulls: int
    distinct: int
    values: list[Any]  # distinct non-null values, most common first
    counts: list[int]  # how often each value occurs (same order)
    key: bool = False  # names or declares a key
    years: list[int] = field(default_factory=list)  # for time columns

    @property
    def unique(self) -> bool:
        return self.nulls == 0 and self.distinct == self.rows and self.rows > 0

    @property
    def year_like(self) -> bool:
        return bool(_YEAR_NAME.search(self.name)) and self.kind == "num"

    @property
    def measure(self) -> bool:
        return self.kind == "num" and not self.key and self.distinct >= 3  # not 0/1 flags

    @property
    def groupable(self) -> bool:
        return self.kind in ("text", "num", "bool") and 2 <= self.distinct < self.rows \
            and self.distinct <= 40 and not (self.kind == "num" and not self.integer)

    def nice_values(self) -> list[Any]:
        """Values fit to quote in a question: short text without line breaks."""
        if self.kind != "text":
            return self.values
        return [v for v in self.values
                if isinstance(v, str) and v.strip() and len(v) <= 40 and "\n" not in v]


@dataclass
class Tab:
    name: str
    rows: int
    cols: list[Col]
    label: Col | None = None  # the column that names a row (name, title, ...)

    def col(self, name: str) -> Col:
        return next(c for c in self.cols if c.name == name)


@dataclass(frozen=True)
class Link:
    """A many-to-one key pair: every `table.key` value is (mostly) a `ref.ref_key` value."""

    table: str
    key: str
    ref: str
    ref_key: str


@dataclass
class Profile:
    db: str
    tables: list[Tab]
    links: list[Link]

    def tab(self, name: str) -> Tab:
        return next(t for t in self.tables if t.name == name)


def profile(db: Database, schema: Schema) -> Profile:
    """Describe every usable table and column of `db` with our own read-only queries."""
    con = db.connect()
    try:
        tables = [_profile_table(con, schema, t.name) for t in schema.tables
                  if _usable_name(t.name) and t.rows > 0]
        tables = [t for t in tables if t.cols]
        links = _find_links(con, schema, tables)
    finally:
        con.disconnect()
    for link in links:  # a column that joins is an id, whatever its name
        for t in tables:
            if t.name in (link.table, link.ref):
                for c in t.cols:
                    c.key = c.key or (t.name, c.name) in ((link.table, link.key),
                                                         (link.ref, link.ref_key))
    return Profile(schema.db, tables, links)


def _usable_name(name: str) -> bool:
    return name.isidentifier() and name not in ("ibis", "_", "result") and \
        not keyword.iskeyword(name)


def _profile_table(con: Any, schema: Schema, name: str) -> Tab:
    import ibis

    t = con.table(name)
    meta = schema.table(name)
    declared = set(meta.primary_key) | {c for fk in meta.foreign_keys for c in fk.columns}
    kinds = {c: _kind(dtype) for c, dtype in t.schema().items()}
    cols = [c for c, k in kinds.items() if k != "other"]
    if not cols:
        return Tab(name, meta.rows, [])
    stats = t.agg(**{f"n{i}": t[c].isnull().sum() for i, c in enumerate(cols)},
                  **{f"d{i}": t[c].nunique() for i, c in enumerate(cols)},
                  rows=ibis._.count()).to_pyarrow().to_pylist()[0]
    rows = int(stats["rows"])
    out = []
    for i, c in enumerate(cols):
        col = Col(name, c, kinds[c], t.schema()[c].is_integer(), rows, int(stats[f"n{i}"] or 0),
                  int(stats[f"d{i}"] or 0), [], [], key=c in declared or bool(_KEY_NAME.search(c)))
        if col.distinct == 0:
            continue
        if col.kind == "time":
            years = t.group_by(y=t[c].year()).agg(n=ibis._.count()).filter(ibis._.y.notnull())
            col.years = sorted(int(y) for y in years.y.to_pyarrow().to_pylist())
        else:
            counts = t.filter(t[c].notnull()).group_by(v=t[c]).agg(n=ibis._.count())
            top = counts.order_by([ibis.desc("n"), "v"]).limit(MAX_VALUES).to_pyarrow()
            col.values = [_plain(v) for v in top["v"].to_pylist()]
            col.counts = top["n"].to_pylist()
            if col.kind == "num" and col.distinct > MAX_VALUES:
                qs = [round(0.05 * k, 2) for k in range(1, 20)]
                quant = t.agg(**{f"q{k}": t[c].quantile(q) for k, q in enumerate(qs)})
                found = [v for v in quant.to_pyarrow().to_pylist()[0].values() if v is not None]
                extra = [int(round(v)) if col.integer else round(float(v), 2) for v in found]
                col.values += [v for v in extra if v not in col.values]
                col.counts += [0] * (len(col.values) - len(col.counts))
        out.append(col)
    tab = Tab(name, rows, out)
    tab.label = _label(tab)
    return tab


def _kind(dtype: Any) -> str:
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "num"
    if dtype.is_string():
        return "text"
    if dtype.is_date() or dtype.is_timestamp():
        return "time"
    return "other"


def _plain(v: Any) -> Any:
    """Values as literals can write them: floats rounded to 2 decimals when longer."""
    if isinstance(v, float):
        return int(v) if v.is_integer() else (round(v, 2) if abs(v) >= 1 else round(v, 4))
    if hasattr(v, "item") and not isinstance(v, str):  # numpy / decimal-like scalars
        return _plain(v.item())
    if type(v).__name__ == "Decimal":
        return _plain(float(v))
    return v


def _label(tab: Tab) -> Col | None:
    texts = [c for c in tab.cols if c.kind == "text" and not c.key and c.nice_values()]
    named = [c for c in texts if re.search(r"(?i)name|title", c.name)]
    for group in (named, [c for c in texts if c.distinct >= 0.8 * tab.rows]):
        if group:
            return max(group, key=lambda c: (c.distinct, -c.nulls))
    keys = [c for c in tab.cols if c.unique and c.key]
    return keys[0] if keys else None


def _find_links(con: Any, schema: Schema, tables: list[Tab]) -> list[Link]:
    """Many-to-one key pairs: declared foreign keys, then pairs the names suggest and the data
    confirms (the referenced column is unique and holds the referring column's values)."""
    by_name = {t.name: t for t in tables}
    links: list[Link] = []
    for meta in schema.tables:
        for fk in meta.foreign_keys:
            if len(fk.columns) == 1 and meta.name in by_name and fk.ref_table in by_name:
                links.append(Link(meta.name, fk.columns[0], fk.ref_table, fk.ref_columns[0]))
    namer = Namer.for_names([t.name for t in tables])
    values: dict[tuple[str, str], set[Any] | None] = {}

    def distinct(t: str, c: str) -> set[Any] | None:
        if (t, c) not in values:
            col = by_name[t].col(c)
            if col.distinct > MAX_KEY_VALUES:
                values[t, c] = None
            else:
                expr = con.table(t)[c]
                vals = expr.name("v").as_table().filter(expr.name("v").notnull()).distinct()
                values[t, c] = set(vals.v.to_pyarrow().to_pylist())
        return values[t, c]

    for a in tables:
        for col in a.cols:
            if any(link.table == a.name and link.key == col.name for link in links):
                continue
            best: tuple[float, Link] | None = None
            for b in tables:
                if b.name == a.name:
                    continue
                for ref in b.cols:
                    score = _affinity(col, ref, b, namer)
                    if score == 0 or not ref.unique or b.rows < 2:
                        continue
                    if (col.kind, col.integer) != (ref.kind, ref.integer) or col.kind not in (
                            "num", "text"):
                        continue
                    mine, theirs = distinct(a.name, col.name), distinct(b.name, ref.name)
                    if not mine or theirs is None:
                        continue
                    share = len(mine & theirs) / len(mine)
                    need = 0.5 if score >= 2 else 1.0
                    if share < need or (score < 2 and not _weak_ok(col, theirs)):
                        continue
                    rank = score + share
                    if best is None or rank > best[0]:
                        best = (rank, Link(a.name, col.name, b.name, ref.name))
            if best is not None:
                links.append(best[1])
    links = [k for k in links if not _weaker_twin(k, links, by_name, namer)]
    return _follow_chains(links)


def _weaker_twin(link: Link, links: list[Link], tables: dict[str, Tab], namer: Namer) -> bool:
    """A one-to-one pair is found both ways; keep the way that points at the table the key
    belongs to: named after it (Conductor_ID -> conductor), or its first column."""
    twin = Link(link.ref, link.ref_key, link.table, link.key)
    if twin not in links:
        return False
    return _ownership(twin, tables, namer) > _ownership(link, tables, namer) or (
        _ownership(twin, tables, namer) == _ownership(link, tables, namer)
        and link.ref > twin.ref)


def _ownership(link: Link, tables: dict[str, Tab], namer: Namer) -> tuple[int, int, int]:
    ref = tables[link.ref]
    words = namer.words(link.ref_key).lower().split()
    named = int(namer.noun(ref.name)[0].split()[-1].lower() in words)
    first = int(ref.cols[0].name == link.ref_key)
    return named, first, len(ref.cols)


def _follow_chains(links: list[Link]) -> list[Link]:
    """Friend.student_id -> Likes.student_id -> Highschooler.ID: point at the end of the chain,
    since a column that refers elsewhere is not its own table's key."""
    source = {(k.table, k.key): k for k in links}
    out = []
    for link in links:
        end, hops = link, 0
        while (end.ref, end.ref_key) in source and hops < len(links):
            end, hops = source[end.ref, end.ref_key], hops + 1
        if end.ref != link.table:
            out.append(Link(link.table, link.key, end.ref, end.ref_key))
    return list(dict.fromkeys(out))


def _affinity(col: Col, ref: Col, ref_table: Tab, namer: Namer) -> int:
    """How strongly the names say `col` refers to `ref`: 3 same-name key, 2 the column names
    the table (Stadium_ID -> stadium, SourceAirport -> airports), 1 both key-like, else 0."""
    if not (col.key or ref.key) or col.name.lower() in _OWN_KEY_NAMES:
        return 0  # a column called just "id" is its own table's key, not a reference
    if col.name.lower() == ref.name.lower():
        return 3
    words = [w.lower() for w in namer.words(col.name).split()
             if w.lower() not in ("id", "code", "number")]
    one, _ = namer.noun(ref_table.name)
    if ref.key and words and words[-1] == one.split()[-1].lower():
        return 2
    return 1 if col.key and ref.key else 0


def _weak_ok(col: Col, ref_values: set[Any]) -> bool:
    """Key-like names alone are weak evidence: small dense integer ids (1..15) are in every
    id column. Accept only when the referenced values could not hold the others by chance."""
    if col.distinct < 3:
        return False
    if col.kind == "text":
        return True
    lo, hi = min(ref_values), max(ref_values)
    return lo >= 1000 or (hi - lo + 1) > 2 * len(ref_values)


