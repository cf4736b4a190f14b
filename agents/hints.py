"""A tool error turned into the fix a model can act on, for the errors code models keep making.

The tools report what Ibis said ("'Table' object has no attribute 'sort_values'"); a small model
reads that and writes the same program again. Each rule here recognises one habit (pandas or
SQL idioms, `and`/`or` between columns, a column in the wrong case, a table called like a
function) and says what to write instead, with the database's own names. Rules are generic
over databases and models; none knows a task.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from tools.schema import Schema

# pandas / SQL / Spark names -> what Ibis calls it.
_RENAMES = {
    "groupby": 'group_by("col").agg(name=_.x.mean())',
    "groupBy": 'group_by("col").agg(name=_.x.mean())',
    "sort_values": 'order_by(ibis.desc("col"))',
    "sort": 'order_by("col")',
    "orderBy": 'order_by("col")',
    "sort_by": 'order_by("col")',
    "query": "filter(_.col == value)",
    "where": "filter(_.col == value)",
    "loc": "filter(...) and select(...)",
    "merge": 'join(other, "key_column")',
    "nlargest": 'order_by(ibis.desc("col")).limit(n)',
    "nsmallest": 'order_by("col").limit(n)',
    "size": "count()",
    "len": "count()",
    "unique": "distinct() on a table, or nunique() for a count",
    "drop_duplicates": "distinct()",
    "rename_axis": "rename(new=\"old\")",
    "reset_index": "nothing: Ibis results have no index; drop it",
    "agg_func": "agg(name=_.x.mean())",
    "avg": "mean()",
    "average": "mean()",
    "values": "the column itself",
    "iloc": "limit(n)",
    "apply": "column methods (Ibis has no apply)",
    "map": "cases() or a join",
    "isna": "isnull()",
    "notna": "notnull()",
    "astype": 'cast("type")',
}


def hint(error: str, code: str, schema: Schema, tables: list[str] | None = None) -> str | None:
    """One or two sentences on how to fix `error`, or None when no rule applies."""
    for rule in _RULES:
        text = rule(error, code, schema, tables or [t.name for t in schema.tables])
        if text:
            return text
    return None


def _missing_attribute(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    m = re.search(r"'?(\w+)'? object has no attribute '(\w+)'", error)
    if not m:
        return None
    owner, attr = m.groups()
    if attr in _RENAMES:
        return f"Ibis has no .{attr}: use .{_RENAMES[attr]} instead."
    if owner in ("Table", "Join", "GroupedTable"):
        columns = _columns(schema, tables)
        if attr in columns:
            return (f"the table at that point has no column {attr!r}: a select, agg or join "
                    f"before it dropped or renamed it. Use {attr!r} before that step, or keep "
                    "it in the group_by/select.")
        close = _close(attr, columns)
        if close:
            return (f"there is no column {attr!r}; did you mean {close!r}? Column names are "
                    f"case-sensitive.")
        used = _used(code, tables) or tables
        known = "; ".join(f"{t}: {', '.join(_columns(schema, [t])[:30])}" for t in used[:3])
        return f"there is no column or method {attr!r} here. The columns are {known}."
    if owner.endswith(("StringColumn", "StringScalar", "StringValue")) and attr in (
            "mean", "sum", "max", "min", "std", "var"):
        return (f"that column is a string, so it has no .{attr}(): aggregate a numeric column, "
                "or count rows with _.count().")
    return None


def _deferred_truth(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    if "truth value" not in error:
        return None
    return ("combine conditions with & (and), | (or) and ~ (not), each condition in "
            "parentheses: t.filter((_.a == 1) & (_.b > 2)). Python's and/or/not and chained "
            "comparisons (1 < _.x < 5) do not work on columns; use _.x.between(1, 5).")


def _join_keyword(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    if not re.search(r"join\(\) got an unexpected keyword argument '(on|left_on|right_on|how)'",
                     error):
        return None
    return ('join takes the other table and the key: a.join(b, "shared_column") or '
            'a.join(b, a.x == b.y); for an outer join add how="left".')


def _called_table(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    if not re.search(r"'(Table|Join)' object is not callable", error):
        return None
    return (f"a table is a variable, not a function: write {tables[0]}.filter(...), "
            f"{tables[0]}.select(...) or {tables[0]}.column_name.")


def _undefined_name(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    m = re.search(r"name '(\w+)' is not defined", error)
    if not m:
        return None
    name = m.group(1)
    names = [t.name for t in schema.tables]
    close = _close(name, names)
    if close:
        return f"there is no table {name!r}; did you mean {close!r}?"
    columns = _columns(schema, tables)
    if name in columns or _close(name, columns):
        column = name if name in columns else _close(name, columns)
        return (f"{name!r} is not a variable: refer to a column through its table or _, "
                f"e.g. _.{column}.")
    return (f"{name!r} is not defined. Only the tables ({', '.join(names)}), ibis and _ exist; "
            "assign a variable before you use it.")


def _len_table(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    if "Use .count() instead" not in error:
        return None
    return "len() does not work on a table: use t.count(), or _.count() inside agg()."


def _rejected_import(error: str, code: str, schema: Schema, tables: list[str]) -> str | None:
    if "imports are not allowed" not in error:
        return None
    return ("do not import anything (pandas, numpy, ...): write the whole answer with Ibis "
            "methods on the table variables.")


def _columns(schema: Schema, tables: list[str]) -> list[str]:
    out: list[str] = []
    for table in schema.tables:
        if table.name in tables:
            out.extend(c.name for c in table.columns if c.name not in out)
    return out


def _used(code: str, tables: list[str]) -> list[str]:
    """The tables `code` names, in the order it first names them."""
    found = {t: m.start() for t in tables if (m := re.search(rf"\b{re.escape(t)}\b", code))}
    return sorted(found, key=found.get)


def _close(word: str, names: list[str]) -> str | None:
    lowered = {n.lower(): n for n in names}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
    return match[0] if match else None


_RULES: tuple[Callable[[str, str, Schema, list[str]], str | None], ...] = (
    _missing_attribute, _deferred_truth, _join_keyword, _called_table, _undefined_name,
    _len_table, _rejected_import,
)
