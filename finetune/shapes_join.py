"""The join program shapes: a table joined to the one its key references, and link tables."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from finetune.profile import Link, Tab
from finetune.programs import Draw, lit, names, order_keys, ref, where_code
from finetune.words import identifier


def _on_link(shape: Callable[..., Draw | None]) -> Callable[[Any], Draw | None]:
    """A join shape drawn over a random link (many-side table `a` -> labelled table `b`)."""

    @functools.wraps(shape)
    def draw(self: Any) -> Draw | None:
        link = self._pick(self._links())
        if link is None:
            return None
        return shape(self, link, self.p.tab(link.table), self.p.tab(link.ref))

    return draw


class JoinShapes:
    """`Sampler`'s draws over joined tables, built from its choices (`where`, ...)."""

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

    @_on_link
    def _join_count(self, link: Link, a: Tab, b: Tab) -> Draw | None:
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

    @_on_link
    def _join_agg(self, link: Link, a: Tab, b: Tab) -> Draw | None:
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

    @_on_link
    def _join_top(self, link: Link, a: Tab, b: Tab) -> Draw | None:
        setup, joined, mp = self._joined(link, [b.label.name])
        label = mp.get(b.label.name, b.label.name)
        n = "n_" + self._noun_id(a.name)
        desc = self.rng.random() < 0.75
        code = (f"{setup}{joined}.group_by({json.dumps(label)}).agg({n}=_.count())"
                f".order_by([{order_keys(n, desc, [label])}]).limit(1)")
        spec = {"kind": "join_top", "label_unique": b.label.unique, "table": a.name,
                "where": [], "ref": b.name, "key": link.key,
                "ref_label": b.label.name, "desc": desc, "ties": [b.label.name]}
        return Draw(code, spec, "join", "medium", computed=(n,))

    @_on_link
    def _join_list(self, link: Link, a: Tab, b: Tab) -> Draw | None:
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

    @_on_link
    def _join_filter_count(self, link: Link, a: Tab, b: Tab) -> Draw | None:
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

    @_on_link
    def _join_anti(self, link: Link, a: Tab, b: Tab) -> Draw | None:
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
