"""The bootstrap program sampler: draws an Ibis program as source text plus a structured spec of
what it computes, over projections, filters, aggregates, group-by (+having), order/limit,
distinct, joins, date parts and windows; `finetune.verbalize` turns the spec into a question.
"""

from __future__ import annotations

import json
import keyword
import random
from dataclasses import dataclass
from typing import Any

from finetune.profile import Col, Link, Profile, Tab
from finetune.verbalize import Namer, identifier

ROW_CAP = 100  # results with more rows make poor questions ("list 4,000 cities")

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


