"""Sampled programs as text: column references, literals, filters, and `Draw`, one program."""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass
from typing import Any

ROW_CAP = 100  # results with more rows make poor questions ("list 4,000 cities")

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


def order_keys(by: str, desc: bool, ties: list[str]) -> str:
    """The keys of an `order_by([...])`: `by` (descending if `desc`), then the tie-breaks."""
    keys = [f'ibis.desc("{by}")' if desc else json.dumps(by)] + [json.dumps(c) for c in ties]
    return ", ".join(keys)


@dataclass(frozen=True)
class Draw:
    """A sampled program and what it computes."""

    code: str
    spec: dict[str, Any]
    category: str
    difficulty: str
    ordered: bool = False
    computed: tuple[str, ...] = ()  # output columns the program computes (for constancy checks)
