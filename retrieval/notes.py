"""Short task-oriented notes, written here (source="note"), not harvested from ibis.

Each fills a gap the API docs leave and a small model keeps falling into: pandas or SQL habits
(groupby, agg on a column, sort_values, where, .str/.dt accessors, merge) and recipes that span
several methods (top-n per group, share of a total). Examples run against `t` (k string,
x float64, y int64, s string, ts timestamp, d date) and `other` (k string, name string); the
tests compile every one of them.
"""

from __future__ import annotations

from retrieval.doc import Doc

_NOTES: list[tuple[str, str, str, list[str]]] = [
    (
        "group-by-aggregate",
        "Group by then aggregate (per / for each / by group)",
        "Group rows with Table.group_by and reduce each group with .aggregate (alias .agg); "
        "name every output as a keyword. Ibis has no .groupby, and you cannot call .mean() or "
        ".sum() on a grouped table directly: put the reductions inside aggregate. Sort the "
        "groups afterwards with order_by.",
        ['t.group_by("k").aggregate(n=_.count(), avg_x=_.x.mean(), total=_.x.sum())',
         't.group_by(["k", "s"]).agg(n=_.count()).order_by(ibis.desc("n"))'],
    ),
    (
        "count-distinct",
        "Count rows, count distinct values",
        "Number of rows: t.count() (a scalar), or _.count() inside aggregate for rows per "
        "group. Number of distinct values of a column: _.x.nunique() (SQL COUNT(DISTINCT)). "
        "Distinct rows or combinations: t.select(...).distinct(). There is no len(t), .size() "
        "on a table, .unique() or .value_counts() on a table; Column.value_counts() exists.",
        ["t.count()", 't.group_by("k").agg(n_s=_.s.nunique())',
         't.select("k", "s").distinct().count()'],
    ),
    (
        "sort-top-n",
        "Sort descending, top n rows (largest, highest, most)",
        "Sort with Table.order_by; descending with ibis.desc(\"col\") or _.col.desc(); keep the "
        "first n rows with .limit(n) (or .head(n)). There is no sort_values, sort, nlargest "
        "or orderBy.",
        ['t.order_by(ibis.desc("x")).limit(5)', 't.order_by(_.x.desc(), "k").head(10)'],
    ),
    (
        "top-n-per-group",
        "Top n per group (best / largest within each group)",
        "Rank rows inside each group with a window function, then filter on the rank. "
        "ibis.row_number() starts at 0; ibis.rank() and ibis.dense_rank() give ties the same "
        "rank.",
        ['t.mutate(rn=ibis.row_number().over(group_by="k", order_by=ibis.desc("x")))'
         '.filter(_.rn < 3)'],
    ),
    (
        "filter-rows",
        "Filter rows by a condition (where)",
        "Keep rows with Table.filter; several conditions are ANDed; combine with & | ~ and "
        "parentheses, not and/or/not. Refer to columns through the table or _ (t.x, _.x), never "
        "as bare names. Membership: _.x.isin([...]); range: _.x.between(a, b); missing values: "
        "_.x.isnull() / _.x.notnull(). There is no .where, .query or .loc.",
        ['t.filter(_.x > 1, _.s.isin(["a", "b"]))', "t.filter((_.x > 1) | _.s.isnull())"],
    ),
    (
        "conditional-aggregate",
        "Conditional counts and sums, share / percentage / fraction of a total",
        "Reductions take where=: _.count(where=cond), _.x.sum(where=cond). The fraction of rows "
        "matching a condition is the mean of the boolean. A share of the total divides by a "
        "reduction over all rows inside mutate (a window).",
        ['t.group_by("k").agg(big=_.count(where=_.x > 15), frac=(_.x > 15).mean())',
         't.group_by("k").agg(n=_.count()).mutate(share=_.n / _.n.sum())'],
    ),
    (
        "dates",
        "Year, month, day, weekday of a date or timestamp; date differences",
        "Date parts are methods on the value itself, not a .dt accessor: _.ts.year(), "
        ".month(), .day(), .hour(), .day_of_week.index() (Monday=0). Truncate with "
        ".truncate(\"M\"); days between dates with .delta(other, unit=\"day\"); build literals "
        "with ibis.date(\"2013-01-01\") or ibis.timestamp(...).",
        ['t.mutate(yr=_.ts.year(), mo=_.ts.month(), month_start=_.ts.truncate("M"))',
         't.filter(_.d > ibis.date("2013-06-30"))'],
    ),
    (
        "strings",
        "String methods (contains, starts with, upper, length)",
        "String methods are on the column itself, not a .str accessor: _.s.contains(\"x\"), "
        "_.s.startswith(\"x\"), _.s.upper(), _.s.lower(), _.s.length(), _.s.like(\"%x%\"), "
        "_.s.re_search(pattern), _.s.substr(start, length).",
        ['t.filter(_.s.contains("air")).mutate(n=_.s.length(), up=_.s.upper())'],
    ),
    (
        "join-tables",
        "Join / merge two tables on a key",
        "Table.join(other, predicates, how=...): predicates are a column name shared by both, "
        "a list of names, or equality expressions; how is inner (default), left, outer, semi, "
        "anti. There is no merge. Select the columns you need afterwards.",
        ['t.join(other, "k")',
         't.join(other, t.k == other.k, how="left").select(t.k, other.name)'],
    ),
    (
        "columns",
        "Add, rename, cast columns; fill missing values; if-then-else",
        "New or replaced columns: t.mutate(name=expr) (no assign, apply or np.where). Rename: "
        "t.rename(new=\"old\"). Cast: _.x.cast(\"int64\") (no astype). Missing values: "
        "_.x.fill_null(v), _.x.isnull() (no fillna, isna). Conditions: ibis.ifelse(cond, a, b) "
        "or ibis.cases((cond, value), ..., else_=default).",
        ['t.rename(key="k").mutate(x=_.x.cast("int64"), s=_.s.fill_null("none"))',
         't.mutate(size=ibis.cases((_.x > 10, "big"), (_.x > 5, "mid"), else_="small"))'],
    ),
]


def notes() -> list[Doc]:
    return [
        Doc(id=f"note.{slug}", name=f"note.{slug}", attr="", kind="note", signature=title,
            summary=body, text=f"{title}\n\n{body}", examples=examples, source="note")
        for slug, title, body, examples in _NOTES
    ]
