"""The grouped program shapes: group-by counts and aggregates, ranked groups, having, shares."""

from __future__ import annotations

import json

from finetune.profile import Tab
from finetune.programs import ROW_CAP, Draw, cond_code, lit, names, order_keys, ref, where_code
from finetune.words import identifier


class GroupShapes:
    """`Sampler`'s draws that group one table's rows, built from its choices (`where`, ...)."""

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
        k = self.rng.choice([1, 1, 3, 5]) if limit else None
        code = (f"{t.name}{where_code(conds)}.group_by({self._group_arg(group)}).agg({agg})"
                f".order_by([{order_keys(out, desc, group)}])")
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
        label = t.label.name
        cols = [g, label, by.name]
        code = (f"ranked = {t.name}.mutate(\n    rank=ibis.row_number().over(group_by="
                f"{json.dumps(g)}, order_by=[{order_keys(by.name, desc, [label])}])\n)\n"
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
