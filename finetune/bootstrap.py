"""Bootstrap verified tasks for a database (issue 6): sample Ibis programs from its schema, run
each in the sandbox, keep those with meaningful new results, and phrase each as a question.

Three steps:
1. `profile`: our own read-only queries (never generated code) describe every column: its kind,
   nulls, distinct count, real values to filter on, and which column pairs are join keys
   (declared keys, same-name id columns, or names that point at a table, checked on the data).
2. `Sampler`: draws a program as Ibis source text plus a structured spec of what it computes,
   over projections, filters, aggregates, group-by (+having), order/limit, distinct, joins,
   date parts and windows; `finetune.verbalize` turns the spec into a question.
3. `bootstrap`: runs each program on the full data in the sandbox and keeps it when the result
   is non-empty, small, not constant and not seen before, and the question is new; then
   compiles it for the gold SQL. Seeded: the same seed and database give the same tasks.
"""

from __future__ import annotations

import json
import keyword
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from finetune.verbalize import Namer, identifier, question
from tools.calls import compile_code, execute
from tools.database import Database
from tools.records import ToolResult
from tools.sandbox import Sandbox, default_sandbox
from tools.schema import Schema, inspect

ROW_CAP = 100  # results with more rows make poor questions ("list 4,000 cities")
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


# Programs --------------------------------------------------------------------------------------

_TABLE_ATTRS = None


def ref(col: str, base: str = "_") -> str:
    """`_.Age`, or `_["Official_ratings_(millions)"]` where attribute access would not work."""
    global _TABLE_ATTRS
    if _TABLE_ATTRS is None:
        import ibis

        _TABLE_ATTRS = set(dir(ibis.expr.types.Table))
    if col.isidentifier() and col not in _TABLE_ATTRS and not col.startswith("_") and \
            not keyword.iskeyword(col):
        return f"{base}.{col}"
    return f"{base}[{json.dumps(col)}]"


def lit(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return repr(v)


def names(cols: list[str]) -> str:
    return ", ".join(json.dumps(c, ensure_ascii=False) for c in cols)


def cond_code(cond: dict[str, Any], base: str = "_") -> str:
    c, op, v = ref(cond["col"], base), cond["op"], cond.get("value")
    symbols = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    if op in symbols:
        return f"{c} {symbols[op]} {lit(v)}"
    if op == "between":
        return f"{c}.between({lit(v[0])}, {lit(v[1])})"
    if op == "in":
        return f"{c}.isin([{', '.join(lit(x) for x in v)}])"
    if op in ("isnull", "notnull"):
        return f"{c}.{op}()"
    if op in ("contains", "startswith", "endswith"):
        return f"{c}.{op}({lit(v)})"
    if op in ("year", "month"):
        return f"{c}.{op}() == {v}"
    raise ValueError(f"unknown condition {op}")


def where_code(conds: list[dict[str, Any]]) -> str:
    if not conds:
        return ""
    if len(conds) == 1:
        return f".filter({cond_code(conds[0])})"
    return ".filter(" + " & ".join(f"({cond_code(c)})" for c in conds) + ")"


@dataclass(frozen=True)
class Draw:
    """A sampled program and what it computes."""

    code: str
    spec: dict[str, Any]
    category: str
    difficulty: str
    ordered: bool = False
    computed: tuple[str, ...] = ()  # output columns the program computes (for constancy checks)


_AGG_PREFIX = {"mean": "avg", "sum": "total", "min": "min", "max": "max", "median": "median",
               "nunique": "n_distinct"}
_WEIGHTS = {
    "count": 3.0, "list": 4.0, "sorted": 1.5, "top": 2.0, "distinct": 1.5, "nunique": 1.0,
    "aggregate": 3.0, "group_count": 2.0, "group_agg": 2.0, "group_top": 1.5,
    "group_sorted": 1.0, "having": 1.5, "ratio": 1.5, "share": 0.8, "rank": 1.0,
    "top_per_group": 1.0, "vs_group": 0.6, "running": 0.5, "date_group": 1.0,
    "join_count": 2.0, "join_agg": 1.5, "join_top": 1.0, "join_list": 3.0,
    "join_filter_count": 1.5, "join_anti": 1.0, "link_list": 1.0, "link_count": 0.8,
}


class Sampler:
    """Draws programs over one profiled database. Kinds that keep failing are drawn less."""

    def __init__(self, prof: Profile, rng: random.Random) -> None:
        self.p, self.rng = prof, rng
        self.namer = Namer.for_names([t.name for t in prof.tables] +
                                     [c.name for t in prof.tables for c in t.cols])
        self.weights = {k: w for k, w in _WEIGHTS.items() if self._supported(k)}
        self.floor = {k: w * 0.05 for k, w in self.weights.items()}

    def _supported(self, kind: str) -> bool:
        tabs = self.p.tables
        if kind.startswith("join"):
            return bool(self._links())
        if kind.startswith("link"):
            return bool(self._link_tables())
        if kind == "date_group":
            return any(c.kind == "time" and len(c.years) >= 1 for t in tabs for c in t.cols)
        if kind in ("group_count", "group_agg", "group_top", "group_sorted", "having", "share",
                    "top_per_group", "vs_group"):
            return any(c.groupable for t in tabs for c in t.cols)
        return True

    def pick_kind(self) -> str:
        kinds = list(self.weights)
        return self.rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]

    def feedback(self, kind: str, kept: bool) -> None:
        if not kept:
            self.weights[kind] = max(self.floor[kind], self.weights[kind] * 0.95)

    def draw(self, kind: str) -> Draw | None:
        return getattr(self, "_" + kind)()

    # choices ---------------------------------------------------------------------------------

    def _table(self, need: Any = None) -> Tab | None:
        tabs = [t for t in self.p.tables if need is None or need(t)]
        return self.rng.choice(tabs) if tabs else None

    def _pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items) if items else None

    def _filterable(self, t: Tab, exclude: tuple[str, ...] = ()) -> list[Col]:
        return [c for c in t.cols if c.name not in exclude and
                (c.distinct >= 2 or c.nulls > 0) and (c.kind != "text" or c.nice_values()
                                                       or c.nulls > 0)]

    def cond(self, c: Col) -> dict[str, Any] | None:
        rng = self.rng
        ops: list[str] = []
        if c.nulls > 0:
            ops += ["isnull", "notnull"]
        vals = c.nice_values()
        if c.kind == "text" and vals:
            ops += ["eq", "eq", "eq", "in", "contains", "startswith", "endswith"]
            if c.nulls == 0:
                ops.append("ne")
        elif c.kind == "num" and c.key and vals:  # ids: only equality reads naturally
            ops += ["eq", "in"]
        elif c.kind == "num" and vals and len(vals) >= 2:
            ops += ["gt", "gt", "lt", "lt", "ge", "le", "between"]
            if c.integer and c.distinct <= 60:
                ops += ["eq", "eq", "in"]
        elif c.kind == "time" and c.years:
            ops += ["year", "year", "month"]
        elif c.kind == "bool":
            ops += ["eq"]
        if not ops:
            return None
        op = rng.choice(ops)
        base = {"col": c.name, "op": op}
        if op in ("isnull", "notnull"):
            return base
        if op == "year":
            return base | {"value": rng.choice(c.years)}
        if op == "month":
            return base | {"value": rng.randint(1, 12)}
        if c.kind == "bool":
            return base | {"value": rng.choice([True, False])}
        if op in ("eq", "ne"):
            return base | {"value": rng.choice(vals)}
        if op == "in":
            if len(vals) < 3:
                return None
            picked = rng.sample(vals, rng.choice([2, 2, 3]))
            return base | {"value": sorted(picked) if c.kind == "num" else picked}
        if op in ("contains", "startswith", "endswith"):
            piece = _piece(rng.choice(vals), op, rng)
            return base | {"value": piece} if piece else None
        ordered = sorted(set(vals))
        if op == "between":
            lo, hi = sorted(rng.sample(ordered, 2))
            return base | {"value": [lo, hi]}
        inner = ordered[1:-1] or ordered
        return base | {"value": rng.choice(inner)}

    def where(self, t: Tab, most: int = 2, p_none: float = 0.25,
              exclude: tuple[str, ...] = ()) -> list[dict[str, Any]] | None:
        n = 0 if self.rng.random() < p_none else (1 if self.rng.random() < 0.7 else 2)
        n = min(n, most)
        cols = self._filterable(t, exclude)
        if n > len(cols):
            return None
        plain = [c for c in cols if not c.key]
        if len(plain) >= n and self.rng.random() < 0.8:
            cols = plain  # "whose age is above 30" over "whose ID is 191"
        conds = []
        for c in self.rng.sample(cols, n):
            cond = self.cond(c)
            if cond is None:
                return None
            conds.append(cond)
        return conds

    def _shown(self, t: Tab, must: list[str], extra: int) -> list[str]:
        """`must` columns plus up to `extra` more, the label first when there is one."""
        cols = list(must)
        if t.label is not None and t.label.name not in cols:
            cols.insert(0, t.label.name)
        others = [c.name for c in t.cols if c.name not in cols and
                  (c.kind != "text" or c.nice_values())]
        for name in self.rng.sample(others, min(max(extra, 0 if cols else 1), len(others))):
            cols.append(name)
        return cols

    def _noun_id(self, table: str) -> str:
        return identifier(self.namer.noun(table)[1])

    def _category(self, conds: list[dict[str, Any]], default: str) -> str:
        ops = {c["op"] for c in conds}
        if ops & {"contains", "startswith", "endswith"}:
            return "string"
        if ops & {"isnull", "notnull"}:
            return "null"
        if ops & {"year", "month"}:
            return "date"
        return default

    def _level(self, conds: list[dict[str, Any]], base: str) -> str:
        order = ["easy", "medium", "hard"]
        bump = 1 if len(conds) >= 2 else 0
        return order[min(2, order.index(base) + bump)]

    # single table ----------------------------------------------------------------------------

    def _count(self) -> Draw | None:
        t = self._table()
        conds = self.where(t, p_none=0.1) if t else None
        if conds is None:
            return None
        n = "n_" + self._noun_id(t.name)
        code = f"{t.name}{where_code(conds)}.agg({n}=_.count())"
        spec = {"kind": "count", "table": t.name, "where": conds}
        return Draw(code, spec, self._category(conds, "filter" if conds else "aggregate"),
                    self._level(conds, "easy"), computed=(n,))

    def _list(self) -> Draw | None:
        t = self._table()
        if t is None:
            return None
        lookup = t.label is not None and t.label.unique and self.rng.random() < 0.4
        if lookup:
            vals = t.label.nice_values()
            if not vals:
                return None
            conds = [{"col": t.label.name, "op": "eq", "value": self.rng.choice(vals)}]
            others = [c.name for c in t.cols if c.name != t.label.name and c.distinct >= 1 and
                      (c.kind != "text" or c.nice_values())]
            if not others:
                return None
            cols = self.rng.sample(others, min(len(others), self.rng.choice([1, 1, 2])))
        else:
            conds = self.where(t, p_none=0.05)
            if conds is None or (not conds and t.rows > ROW_CAP):
                return None
            fixed = {c["col"] for c in conds if c["op"] == "eq"}  # known already: not shown
            cols = [c for c in self._shown(t, [], self.rng.choice([0, 1, 1, 2]))
                    if c not in fixed]
            if not cols:
                return None
        code = f"{t.name}{where_code(conds)}.select({names(cols)})"
        spec = {"kind": "list", "table": t.name, "where": conds, "cols": cols, "lookup": lookup}
        return Draw(code, spec, self._category(conds, "filter"), self._level(conds, "easy"))

    def _order_col(self, t: Tab) -> Col | None:
        """A column to sort or rank by; never one with NULLs, whose place engines disagree on."""
        return self._pick([c for c in t.cols if c.kind in ("num", "time") and c.distinct >= 3
                           and not c.key and c.nulls == 0])

    def _sorted(self) -> Draw | None:
        t = self._table(lambda t: t.rows <= ROW_CAP * 20)
        by = self._order_col(t) if t else None
        if by is None:
            return None
        conds = self.where(t, most=1, p_none=0.4)
        if conds is None:
            return None
        cols = self._shown(t, [by.name], self.rng.choice([0, 1]))
        desc = self.rng.random() < 0.6
        ties = [c for c in cols if c != by.name]
        keys = [f'ibis.desc("{by.name}")' if desc else json.dumps(by.name)] + \
            [json.dumps(c) for c in ties]
        code = f"{t.name}{where_code(conds)}.select({names(cols)}).order_by([{', '.join(keys)}])"
        spec = {"kind": "sorted", "table": t.name, "where": conds, "cols": cols, "by": by.name,
                "desc": desc, "by_kind": by.kind, "ties": ties}
        return Draw(code, spec, "order_limit", self._level(conds, "easy"), ordered=True)

    def _top(self) -> Draw | None:
        t = self._table(lambda t: t.rows >= 3)
        by = self._order_col(t) if t else None
        if by is None:
            return None
        conds = self.where(t, most=1, p_none=0.5)
        if conds is None:
            return None
        k = self.rng.choice([1, 1, 3, 5, 10] if t.rows > 12 else [1, 1, 2, 3])
        cols = self._shown(t, [by.name], self.rng.choice([0, 0, 1]))
        desc = self.rng.random() < 0.65
        ties = [c for c in cols if c != by.name]
        keys = [f'ibis.desc("{by.name}")' if desc else json.dumps(by.name)] + \
            [json.dumps(c) for c in ties]
        code = (f"{t.name}{where_code(conds)}.select({names(cols)})"
                f".order_by([{', '.join(keys)}]).limit({k})")
        spec = {"kind": "top", "table": t.name, "where": conds, "cols": cols, "by": by.name,
                "desc": desc, "by_kind": by.kind, "ties": ties, "k": k}
        return Draw(code, spec, "order_limit", "medium" if conds else "easy", ordered=k > 1)

    def _distinct(self) -> Draw | None:
        t = self._table()
        if t is None:
            return None
        pool = [c for c in t.cols if 2 <= c.distinct < t.rows and c.distinct <= ROW_CAP and
                (c.kind != "text" or c.nice_values())]
        if not pool:
            return None
        cols = [c.name for c in self.rng.sample(pool, min(len(pool), self.rng.choice([1, 1, 2])))]
        conds = self.where(t, most=1, p_none=0.5, exclude=tuple(cols))
        if conds is None:
            return None
        code = f"{t.name}{where_code(conds)}.select({names(cols)}).distinct()"
        spec = {"kind": "distinct", "table": t.name, "where": conds, "cols": cols}
        return Draw(code, spec, "distinct", self._level(conds, "easy"))

    def _nunique(self) -> Draw | None:
        t = self._table()
        c = self._pick([c for c in t.cols if 2 <= c.distinct < t.rows]) if t else None
        if c is None:
            return None
        conds = self.where(t, most=1, p_none=0.4, exclude=(c.name,))
        if conds is None:
            return None
        out = identifier(f"n distinct {self.namer.words(c.name)}")
        code = f"{t.name}{where_code(conds)}.agg({out}={ref(c.name)}.nunique())"
        spec = {"kind": "nunique", "table": t.name, "where": conds, "col": c.name}
        return Draw(code, spec, "distinct", self._level(conds, "easy"), computed=(out,))

    def _measure(self, t: Tab) -> Col | None:
        return self._pick([c for c in t.cols if c.measure])

    def _fns(self, c: Col, many: bool = True) -> list[str]:
        fns = ["mean", "mean", "min", "max", "sum"] if not c.year_like else ["mean", "min", "max"]
        if many and self.rng.random() < 0.25:
            pair = self.rng.choice([["min", "max"], ["mean", "max"], ["mean", "min"]])
            return pair
        return [self.rng.choice(fns)]

    def _agg_code(self, c: Col, fns: list[str], taken: tuple[str, ...] = ()) -> tuple[str, list]:
        outs = [identifier(f"{_AGG_PREFIX[f]} {self.namer.words(c.name)}", taken) for f in fns]
        parts = [f"{o}={ref(c.name)}.{f}()" for o, f in zip(outs, fns, strict=True)]
        return ", ".join(parts), outs

    def _aggregate(self) -> Draw | None:
        t = self._table()
        c = self._measure(t) if t else None
        if c is None:
            return None
        conds = self.where(t, p_none=0.35, exclude=(c.name,))
        if conds is None:
            return None
        fns = self._fns(c)
        agg, outs = self._agg_code(c, fns)
        code = f"{t.name}{where_code(conds)}.agg({agg})"
        spec = {"kind": "aggregate", "table": t.name, "where": conds, "col": c.name,
                "col_kind": c.kind, "fns": fns}
        return Draw(code, spec, "aggregate", self._level(conds, "easy"), computed=tuple(outs))

    def _group(self, t: Tab, exclude: tuple[str, ...] = ()) -> list[str] | None:
        pool = [c for c in t.cols if c.groupable and c.name not in exclude]
        plain = [c for c in pool if not c.key]
        if plain and (len(plain) == len(pool) or self.rng.random() < 0.85):
            pool = plain  # "per country" reads better than "per stadium ID"
        if not pool:
            return None
        k = 2 if len(pool) >= 2 and self.rng.random() < 0.15 else 1
        return [c.name for c in self.rng.sample(pool, k)]

    @staticmethod
    def _group_arg(group: list[str]) -> str:
        return json.dumps(group[0]) if len(group) == 1 else f"[{names(group)}]"

    def _grouped(self, with_measure: bool) -> tuple | None:
        t = self._table(lambda t: any(c.groupable for c in t.cols))
        if t is None:
            return None
        m = self._measure(t) if with_measure else None
        if with_measure and m is None:
            return None
        group = self._group(t, exclude=(m.name,) if m else ())
        if group is None:
            return None
        conds = self.where(t, most=1, p_none=0.6, exclude=tuple(group))
        if conds is None:
            return None
        return t, m, group, conds

    def _group_count(self) -> Draw | None:
        got = self._grouped(False)
        if got is None:
            return None
        t, _, group, conds = got
        n = "n_" + self._noun_id(t.name)
        code = f"{t.name}{where_code(conds)}.group_by({self._group_arg(group)}).agg({n}=_.count())"
        spec = {"kind": "group_count", "table": t.name, "where": conds, "group": group}
        level = "medium" if conds or len(group) > 1 else "easy"
        return Draw(code, spec, "group_by", level, computed=(n,))

    def _group_agg(self) -> Draw | None:
        got = self._grouped(True)
        if got is None:
            return None
        t, m, group, conds = got
        fns = self._fns(m)
        agg, outs = self._agg_code(m, fns, tuple(group))
        code = f"{t.name}{where_code(conds)}.group_by({self._group_arg(group)}).agg({agg})"
        spec = {"kind": "group_agg", "table": t.name, "where": conds, "group": group,
                "col": m.name, "col_kind": m.kind, "fns": fns}
        level = "medium" if conds or len(group) > 1 else "easy"
        return Draw(code, spec, "group_by", level, computed=tuple(outs))

    def _ranked_groups(self, limit: bool) -> Draw | None:
        got = self._grouped(self.rng.random() < 0.4)
        if got is None:
            return None
        t, m, group, conds = got
        group = group[:1]
        if m is not None:
            fn = self.rng.choice(["mean", "sum", "max", "min"] if not m.year_like
                                 else ["mean", "max", "min"])
            agg, (out,) = self._agg_code(m, [fn], tuple(group))
        else:
            fn, out = None, "n_" + self._noun_id(t.name)
            agg = f"{out}=_.count()"
        desc = self.rng.random() < 0.7
        key = f'ibis.desc("{out}")' if desc else json.dumps(out)
        k = self.rng.choice([1, 1, 3, 5]) if limit else None
        code = (f"{t.name}{where_code(conds)}.group_by({self._group_arg(group)}).agg({agg})"
                f".order_by([{key}, {json.dumps(group[0])}])")
        if limit:
            code += f".limit({k})"
        spec = {"kind": "group_top" if limit else "group_sorted", "table": t.name,
                "where": conds, "group": group, "desc": desc, "k": k, "ties": group,
                "col": m.name if m else None, "col_kind": m.kind if m else None, "fn": fn}
        return Draw(code, spec, "order_limit", "medium", ordered=not limit or k > 1,
                    computed=(out,))

    def _group_top(self) -> Draw | None:
        return self._ranked_groups(limit=True)

    def _group_sorted(self) -> Draw | None:
        return self._ranked_groups(limit=False)

    def _having(self) -> Draw | None:
        got = self._grouped(self.rng.random() < 0.35)
        if got is None:
            return None
        t, m, group, _ = got
        group = group[:1]
        g = t.col(group[0])
        op = self.rng.choice(["gt", "gt", "ge", "lt"])
        if m is None:
            sizes = sorted(set(g.counts))
            if len(sizes) < 2:
                return None
            value = self.rng.choice(sizes[:-1]) if op in ("gt",) else self.rng.choice(sizes[1:])
            out = "n_" + self._noun_id(t.name)
            agg, fn = f"{out}=_.count()", None
        else:
            fn = self.rng.choice(["mean", "max", "min"])
            vals = sorted(set(m.values))
            if len(vals) < 3:
                return None
            value = self.rng.choice(vals[1:-1])
            agg, (out,) = self._agg_code(m, [fn], tuple(group))
        symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        keep = self.rng.random() < 0.6
        code = (f"{t.name}.group_by({self._group_arg(group)}).agg({agg})"
                f".filter(_.{out} {symbol} {lit(value)})")
        if not keep:
            code += f".select({names(group)})"
        spec = {"kind": "having", "table": t.name, "group": group, "op": op, "value": value,
                "keep_value": keep, "col": m.name if m else None,
                "col_kind": m.kind if m else None, "fn": fn}
        return Draw(code, spec, "having", "medium", computed=(out,) if keep else ())

    def _ratio(self) -> Draw | None:
        t = self._table(lambda t: t.rows >= 3)
        if t is None:
            return None
        pool = [c for c in self._filterable(t) if c.nulls == 0 and
                not c.key]
        test = self.cond(self._pick(pool)) if pool else None
        if test is None:
            return None
        group = self._group(t, exclude=(test["col"],)) if self.rng.random() < 0.35 else None
        out = identifier(f"pct {self.namer.words(test['col'])}")
        agg = f"{out}=({cond_code(test)}).mean() * 100"
        code = t.name
        if group:
            group = group[:1]
            code += f".group_by({self._group_arg(group)})"
        code += f".agg({agg})"
        spec = {"kind": "ratio", "table": t.name, "where": [], "test": [test], "group": group}
        return Draw(code, spec, "ratio", "medium", computed=(out,))

    def _share(self) -> Draw | None:
        got = self._grouped(False)
        if got is None:
            return None
        t, _, group, conds = got
        group = group[:1]
        n = "n_" + self._noun_id(t.name)
        pct = identifier(f"pct of {self.namer.noun(t.name)[1]}")
        code = (f"counts = {t.name}{where_code(conds)}.group_by({self._group_arg(group)})"
                f".agg({n}=_.count())\n"
                f"counts.mutate({pct}=_.{n} * 100 / _.{n}.sum().over())")
        spec = {"kind": "share", "table": t.name, "where": conds, "group": group}
        return Draw(code, spec, "ratio", "medium", computed=(n, pct))

    def _rank(self) -> Draw | None:
        t = self._table(lambda t: 3 <= t.rows <= ROW_CAP * 20)
        by = self._order_col(t) if t else None
        if by is None or by.kind != "num":
            return None
        conds = self.where(t, most=1, p_none=0.5, exclude=(by.name,))
        if conds is None:
            return None
        desc = self.rng.random() < 0.7
        order = f'ibis.desc("{by.name}")' if desc else json.dumps(by.name)
        cols = self._shown(t, [by.name], 0)
        code = (f"{t.name}{where_code(conds)}.mutate(rank=ibis.rank().over(order_by={order}) + 1)"
                f".select({names(cols)}, \"rank\")")
        spec = {"kind": "rank", "table": t.name, "where": conds, "cols": cols, "by": by.name,
                "desc": desc}
        return Draw(code, spec, "window", "medium", computed=("rank",))

    def _top_per_group(self) -> Draw | None:
        t = self._table(lambda t: any(c.groupable for c in t.cols) and t.label is not None)
        by = self._order_col(t) if t else None
        if by is None:
            return None
        group = self._group(t, exclude=(by.name, t.label.name))
        if group is None:
            return None
        g = group[0]
        desc = self.rng.random() < 0.7
        order = f'ibis.desc("{by.name}")' if desc else json.dumps(by.name)
        label = t.label.name
        cols = [g, label, by.name]
        code = (f"ranked = {t.name}.mutate(\n    rank=ibis.row_number().over(group_by="
                f"{json.dumps(g)}, order_by=[{order}, {json.dumps(label)}])\n)\n"
                f"ranked.filter(_.rank == 0).select({names(cols)})")
        spec = {"kind": "top_per_group", "table": t.name, "where": [], "group": [g],
                "by": by.name, "by_kind": by.kind, "desc": desc, "cols": cols, "ties": [label]}
        return Draw(code, spec, "top_n_per_group", "hard")

    def _vs_group(self) -> Draw | None:
        t = self._table(lambda t: any(c.groupable for c in t.cols) and t.rows <= ROW_CAP)
        m = self._measure(t) if t else None
        if m is None:
            return None
        group = self._group(t, exclude=(m.name,))
        if group is None:
            return None
        g = group[0]
        out = identifier(f"{self.namer.words(m.name)} minus group average")
        cols = self._shown(t, [g], 0)
        code = (f"{t.name}.mutate({out}={ref(m.name)} - {ref(m.name)}.mean()"
                f".over(group_by={json.dumps(g)})).select({names(cols)}, {json.dumps(out)})")
        spec = {"kind": "vs_group", "table": t.name, "where": [], "group": [g], "col": m.name,
                "cols": cols}
        return Draw(code, spec, "window", "hard", computed=(out,))

    def _running(self) -> Draw | None:
        t = self._table(lambda t: 3 <= t.rows <= ROW_CAP)
        if t is None:
            return None
        by = self._pick([c for c in t.cols if c.unique and c.kind in ("num", "time")])
        m = self._pick([c for c in t.cols if c.measure and not c.year_like and c.name !=
                        (by.name if by else None)])
        if by is None or m is None:
            return None
        out = identifier(f"running total {self.namer.words(m.name)}")
        cols = self._shown(t, [by.name, m.name], 0)
        code = (f"{t.name}.select({names(cols)}).mutate({out}={ref(m.name)}.cumsum("
                f"order_by={json.dumps(by.name)})).order_by({json.dumps(by.name)})")
        spec = {"kind": "running", "table": t.name, "where": [], "col": m.name, "by": by.name,
                "cols": cols}
        return Draw(code, spec, "window", "hard", ordered=True, computed=(out,))

    def _date_group(self) -> Draw | None:
        t = self._table(lambda t: any(c.kind == "time" and c.years for c in t.cols))
        if t is None:
            return None
        d = self.rng.choice([c for c in t.cols if c.kind == "time" and c.years])
        part = self.rng.choice(["year", "year", "month", "day_of_week"])
        expr = {"year": f"{ref(d.name)}.year()", "month": f"{ref(d.name)}.month()",
                "day_of_week": f"{ref(d.name)}.day_of_week.full_name()"}[part]
        m = self._measure(t) if self.rng.random() < 0.3 else None
        if m is not None:
            fn = self.rng.choice(["mean", "max", "min", "sum"])
            agg, outs = self._agg_code(m, [fn], (part,))
        else:
            fn, outs = None, ["n_" + self._noun_id(t.name)]
            agg = f"{outs[0]}=_.count()"
        conds = self.where(t, most=1, p_none=0.7, exclude=(d.name,))
        if conds is None:
            return None
        code = f"{t.name}{where_code(conds)}.group_by({part}={expr}).agg({agg})"
        spec = {"kind": "date_group", "table": t.name, "where": conds, "col": d.name,
                "part": part, "measure": m.name if m else None, "fn": fn}
        return Draw(code, spec, "date", "medium", computed=tuple(outs))

    # joins -----------------------------------------------------------------------------------

    def _links(self) -> list[Link]:
        return [k for k in self.p.links if self.p.tab(k.ref).label is not None]

    def _joined(self, link: Link, ref_cols: list[str]) -> tuple[str, str, dict[str, str]]:
        """(setup lines, the joined table expression, name of each ref column in the join).

        Ref columns that would collide with the many-side's columns are renamed in a select."""
        a, b = self.p.tab(link.table), self.p.tab(link.ref)
        a_cols = {c.name for c in a.cols}
        same = link.key == link.ref_key
        needed = [c for c in dict.fromkeys(ref_cols) if c != link.ref_key or not same]
        clash = [c for c in needed if c in a_cols] or (not same and link.ref_key in a_cols)
        if not clash:
            on = json.dumps(link.key) if same else \
                f"{ref(link.key, a.name)} == {ref(link.ref_key, b.name)}"
            return "", f"{a.name}.join({b.name}, {on})", {c: c for c in ref_cols}
        role = self.namer.role(link.key, link.ref)
        mapping, parts = {}, []
        taken = set(a_cols)
        key_name = link.ref_key if same or link.ref_key not in a_cols else \
            identifier(f"{role} key", taken)
        renames = []  # keywords go after the positional column names
        if key_name == link.ref_key:
            parts.append(json.dumps(key_name))
        else:
            renames.append(f"{key_name}={ref(link.ref_key)}")
        mapping[link.ref_key] = link.key if same else key_name
        for c in needed:
            if c == link.ref_key:
                mapping[c] = key_name
                continue
            words = self.namer.words(c)
            if words.lower() == role.lower():  # airlines.Airline -> airline_name
                words = "name" if b.col(c).kind == "text" else "value"
            new = c if c not in taken else identifier(f"{role} {words}", taken)
            taken.add(new)
            mapping[c] = new
            if new == c:
                parts.append(json.dumps(c))
            else:
                renames.append(f"{new}={ref(c)}")
        parts += renames
        var = identifier(self.namer.noun(b.name)[0] + " info",
                         [t.name for t in self.p.tables] + ["result", "links"])
        setup = f"{var} = {b.name}.select({', '.join(parts)})\n"
        on = json.dumps(link.key) if same else f"{ref(link.key, a.name)} == {ref(key_name, var)}"
        return setup, f"{a.name}.join({var}, {on})", mapping

    @staticmethod
    def _renamed(conds: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
        return [c | {"col": mapping[c["col"]]} for c in conds]

    def _join_base(self) -> tuple | None:
        link = self._pick(self._links())
        if link is None:
            return None
        return link, self.p.tab(link.table), self.p.tab(link.ref)

    def _join_count(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        conds = self.where(a, most=1, p_none=0.7, exclude=(link.key,))
        if conds is None:
            return None
        setup, joined, mp = self._joined(link, [b.label.name])
        label = mp.get(b.label.name, b.label.name)
        n = "n_" + self._noun_id(a.name)
        code = (f"{setup}{joined}{where_code(conds)}.group_by({json.dumps(label)})"
                f".agg({n}=_.count())")
        spec = {"kind": "join_count", "label_unique": b.label.unique, "table": a.name,
                "where": conds, "ref": b.name,
                "key": link.key, "ref_label": b.label.name}
        return Draw(code, spec, "join", "medium", computed=(n,))

    def _join_agg(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        m = self._measure(a)
        if m is None:
            return None
        setup, joined, mp = self._joined(link, [b.label.name])
        label = mp.get(b.label.name, b.label.name)
        fn = self.rng.choice(["mean", "sum", "max", "min"] if not m.year_like else ["mean", "max"])
        agg, outs = self._agg_code(m, [fn], (label,))
        code = f"{setup}{joined}.group_by({json.dumps(label)}).agg({agg})"
        spec = {"kind": "join_agg", "label_unique": b.label.unique, "table": a.name,
                "where": [], "ref": b.name, "key": link.key,
                "ref_label": b.label.name, "col": m.name, "col_kind": m.kind, "fns": [fn],
                "fn": fn}
        return Draw(code, spec, "join", "medium", computed=tuple(outs))

    def _join_top(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        setup, joined, mp = self._joined(link, [b.label.name])
        label = mp.get(b.label.name, b.label.name)
        n = "n_" + self._noun_id(a.name)
        desc = self.rng.random() < 0.75
        key = f'ibis.desc("{n}")' if desc else json.dumps(n)
        code = (f"{setup}{joined}.group_by({json.dumps(label)}).agg({n}=_.count())"
                f".order_by([{key}, {json.dumps(label)}]).limit(1)")
        spec = {"kind": "join_top", "label_unique": b.label.unique, "table": a.name,
                "where": [], "ref": b.name, "key": link.key,
                "ref_label": b.label.name, "desc": desc, "ties": [b.label.name]}
        return Draw(code, spec, "join", "medium", computed=(n,))

    def _join_list(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        ref_conds = self.where(b, most=1, p_none=0.3, exclude=(link.ref_key,))
        conds = self.where(a, most=1, p_none=0.6, exclude=(link.key,))
        if ref_conds is None or conds is None or not (ref_conds or conds):
            return None
        cols = [c for c in self._shown(a, [], self.rng.choice([0, 0, 1])) if c != link.key]
        ref_cols = [b.label.name] if self.rng.random() < 0.6 or not cols else []
        setup, joined, mp = self._joined(link, ref_cols + [c["col"] for c in ref_conds])
        ref_cols = [c for c in ref_cols if mp[c] not in cols]
        out_cols = cols + [mp[c] for c in ref_cols]
        if not out_cols:
            return None
        filt = where_code(conds + self._renamed(ref_conds, mp))
        code = f"{setup}{joined}{filt}.select({names(out_cols)})"
        spec = {"kind": "join_list", "table": a.name, "where": conds, "ref": b.name,
                "key": link.key, "ref_label": b.label.name, "ref_where": ref_conds,
                "cols": cols, "ref_cols": ref_cols}
        return Draw(code, spec, "join", "medium")

    def _join_filter_count(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        ref_conds = self.where(b, most=1, p_none=0.0, exclude=(link.ref_key,))
        if not ref_conds:
            return None
        conds = self.where(a, most=1, p_none=0.7, exclude=(link.key,)) or []
        setup, joined, mp = self._joined(link, [c["col"] for c in ref_conds])
        n = "n_" + self._noun_id(a.name)
        filt = where_code(conds + self._renamed(ref_conds, mp))
        code = f"{setup}{joined}{filt}.agg({n}=_.count())"
        spec = {"kind": "join_filter_count", "table": a.name, "where": conds, "ref": b.name,
                "key": link.key, "ref_label": b.label.name, "ref_where": ref_conds}
        return Draw(code, spec, "join", "medium", computed=(n,))

    def _join_anti(self) -> Draw | None:
        got = self._join_base()
        if got is None:
            return None
        link, a, b = got
        anti = self.rng.random() < 0.6
        count = self.rng.random() < 0.35
        ref_conds = self.where(b, most=1, p_none=0.7, exclude=(link.ref_key,))
        if ref_conds is None:
            return None
        how = "anti_join" if anti else "semi_join"
        base = b.name
        setup = ""
        if ref_conds:
            base = identifier(f"chosen {self.namer.noun(b.name)[1]}")
            setup = f"{base} = {b.name}{where_code(ref_conds)}\n"
        on = json.dumps(link.key) if link.key == link.ref_key else \
            f"{ref(link.ref_key, base)} == {ref(link.key, a.name)}"
        tail = f".agg(n_{self._noun_id(b.name)}=_.count())" if count else \
            f".select({json.dumps(b.label.name)})"
        code = f"{setup}{base}.{how}({a.name}, {on}){tail}"
        spec = {"kind": "join_anti", "table": a.name, "where": [], "ref": b.name,
                "key": link.key, "ref_label": b.label.name, "ref_where": ref_conds,
                "anti": anti, "count": count}
        return Draw(code, spec, "join", "medium")

    def _link_tables(self) -> list[tuple[Link, Link]]:
        """Pairs of links out of one table to two other tables (a many-to-many link table)."""
        pairs = []
        for x in self.p.links:
            for y in self.p.links:
                if x.table == y.table and x.key != y.key and x.ref != y.ref and \
                        self.p.tab(x.ref).label is not None and self.p.tab(y.ref).label is not None:
                    pairs.append((x, y))
        return pairs

    def _link_list(self) -> Draw | None:
        pair = self._pick(self._link_tables())
        if pair is None:
            return None
        la, lb = pair  # link table -> a (listed), link table -> b (chosen by a value)
        a, b, link_t = self.p.tab(la.ref), self.p.tab(lb.ref), la.table
        vals = b.label.nice_values()
        if not vals:
            return None
        v = self.rng.choice(vals)
        chosen = identifier(f"chosen {self.namer.noun(b.name)[1]}")
        on_b = json.dumps(lb.key) if lb.key == lb.ref_key else \
            f"{ref(lb.key, link_t)} == {ref(lb.ref_key, chosen)}"
        on_a = json.dumps(la.key) if la.key == la.ref_key else \
            f"{ref(la.ref_key, a.name)} == {ref(la.key, 'links')}"
        code = (f"{chosen} = {b.name}.filter({ref(b.label.name)} == {lit(v)})\n"
                f"links = {link_t}.semi_join({chosen}, {on_b})\n"
                f"{a.name}.semi_join(links, {on_a}).select({json.dumps(a.label.name)})")
        spec = {"kind": "link_list", "table": link_t, "where": [], "a": a.name, "b": b.name,
                "a_label": a.label.name, "b_label": b.label.name, "b_col": b.label.name,
                "b_value": v}
        return Draw(code, spec, "join3", "hard")

    def _link_count(self) -> Draw | None:
        pair = self._pick(self._link_tables())
        if pair is None:
            return None
        la, lb = pair
        a, b = self.p.tab(la.ref), self.p.tab(lb.ref)
        setup, joined, mp = self._joined(lb, [b.label.name])
        label = mp.get(b.label.name, b.label.name)
        out = "n_" + self._noun_id(a.name)
        code = (f"{setup}{joined}.group_by({json.dumps(label)})"
                f".agg({out}={ref(la.key)}.nunique())")
        spec = {"kind": "link_count", "table": la.table, "where": [], "a": a.name, "b": b.name,
                "b_label": b.label.name}
        return Draw(code, spec, "join", "hard", computed=(out,))


def _piece(value: str, op: str, rng: random.Random) -> str | None:
    """A real piece of a text value for contains/startswith/endswith filters."""
    words = value.split()
    if op == "startswith":
        piece = words[0] if len(words) > 1 else value[: rng.choice([1, 2, 3])]
    elif op == "endswith":
        piece = words[-1] if len(words) > 1 else value[-rng.choice([1, 2, 3]):]
    else:
        long = [w for w in words if len(w) >= 3]
        if len(words) > 1 and long:
            piece = rng.choice(long)
        elif len(value) >= 4:
            start = rng.randrange(0, len(value) - 2)
            piece = value[start:start + 3]
        else:
            return None
    piece = piece.strip()
    return piece if piece and piece != value else None


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


def normalize_question(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def bootstrap(db: Database, n: int = 300, seed: int = 0, budget: float = 5.0,
              db_name: str | None = None, sandbox: Sandbox | None = None,
              progress: bool = True) -> Outcome:
    """Up to `n` verified tasks for `db`, executing at most `budget * n` candidate programs.

    `db_name` is what the tasks' `db` field holds (as the user named the database, so
    `agents.tasks.resolve_db` finds it again); ids are "<database>-boot-00001", ...."""
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
                compiled = compile_code(draw.code, schema, sandbox=box)
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

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks))
    tmp.replace(path)
