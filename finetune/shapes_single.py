"""Single-table program shapes: counts, lists, order/limit, distinct, aggregates, windows, dates."""

from __future__ import annotations

import json
from collections.abc import Callable

from finetune.profile import Tab
from finetune.programs import ROW_CAP, Draw, names, order_keys, ref, where_code
from finetune.words import identifier


class SingleShapes:
    """`Sampler`'s draws over one table, each `_<kind>` built from its choices (`where`, ...)."""

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

    def _ordered(self, need: Callable[[Tab], bool], p_none: float) -> tuple | None:
        """A table, a column to order it by, and a filter of at most one condition."""
        t = self._table(need)
        by = self._order_col(t) if t else None
        if by is None:
            return None
        conds = self.where(t, most=1, p_none=p_none)
        return None if conds is None else (t, by, conds)

    def _sorted(self) -> Draw | None:
        got = self._ordered(lambda t: t.rows <= ROW_CAP * 20, p_none=0.4)
        if got is None:
            return None
        t, by, conds = got
        cols = self._shown(t, [by.name], self.rng.choice([0, 1]))
        desc = self.rng.random() < 0.6
        ties = [c for c in cols if c != by.name]
        code = (f"{t.name}{where_code(conds)}.select({names(cols)})"
                f".order_by([{order_keys(by.name, desc, ties)}])")
        spec = {"kind": "sorted", "table": t.name, "where": conds, "cols": cols, "by": by.name,
                "desc": desc, "by_kind": by.kind, "ties": ties}
        return Draw(code, spec, "order_limit", self._level(conds, "easy"), ordered=True)

    def _top(self) -> Draw | None:
        got = self._ordered(lambda t: t.rows >= 3, p_none=0.5)
        if got is None:
            return None
        t, by, conds = got
        k = self.rng.choice([1, 1, 3, 5, 10] if t.rows > 12 else [1, 1, 2, 3])
        cols = self._shown(t, [by.name], self.rng.choice([0, 0, 1]))
        desc = self.rng.random() < 0.65
        ties = [c for c in cols if c != by.name]
        code = (f"{t.name}{where_code(conds)}.select({names(cols)})"
                f".order_by([{order_keys(by.name, desc, ties)}]).limit({k})")
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

    def _rank(self) -> Draw | None:
        t = self._table(lambda t: 3 <= t.rows <= ROW_CAP * 20)
        by = self._order_col(t) if t else None
        if by is None or by.kind != "num":
            return None
        conds = self.where(t, most=1, p_none=0.5, exclude=(by.name,))
        if conds is None:
            return None
        desc = self.rng.random() < 0.7
        order = order_keys(by.name, desc, [])
        cols = self._shown(t, [by.name], 0)
        code = (f"{t.name}{where_code(conds)}.mutate(rank=ibis.rank().over(order_by={order}) + 1)"
                f".select({names(cols)}, \"rank\")")
        spec = {"kind": "rank", "table": t.name, "where": conds, "cols": cols, "by": by.name,
                "desc": desc}
        return Draw(code, spec, "window", "medium", computed=("rank",))

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
