"""The bootstrap program sampler: draws an Ibis program as source text plus a structured spec of
what it computes, over projections, filters, aggregates, group-by (+having), order/limit,
distinct, joins, date parts and windows; `finetune.verbalize` turns the spec into a question.

Here: which kind to draw, and the choices every shape makes (tables, filters, shown columns,
aggregates). The shapes themselves are `finetune.shapes_single`, `shapes_group` and
`shapes_join`; the program text helpers and `Draw` are `finetune.programs`.
"""

from __future__ import annotations

import random
from typing import Any

from finetune.profile import Col, Profile, Tab
from finetune.programs import ROW_CAP, Draw, ref
from finetune.shapes_group import GroupShapes
from finetune.shapes_join import JoinShapes
from finetune.shapes_single import SingleShapes
from finetune.words import Namer, identifier

__all__ = ["ROW_CAP", "Draw", "Sampler"]  # ROW_CAP and Draw live in finetune.programs

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


class Sampler(SingleShapes, GroupShapes, JoinShapes):
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

    def _order_col(self, t: Tab) -> Col | None:
        """A column to sort or rank by; never one with NULLs, whose place engines disagree on."""
        return self._pick([c for c in t.cols if c.kind in ("num", "time") and c.distinct >= 3
                           and not c.key and c.nulls == 0])

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
