"""Worked Ibis examples written over the database's own tables, for the prompt.

API docs show `t.x` on a made-up table, and a small model copies the `t` rather than the idiom.
These examples use the real table and column names (the table and columns the question names
first, as schema linking does), one per common shape of answer: count with a filter, group +
aggregate (for each group, and its top 1), a join along a foreign key, a distinct count. (An
example with a made-up threshold was dropped: small models copied the threshold into their
answers.) They are drawn from the schema and the question's words, never from a task, and
every one compiles (tests check it on all sample databases).
"""

from __future__ import annotations

from agents.linking import words
from tools.schema import Column, Schema, Table

_NUMERIC = ("int", "float", "decimal")
_DATE_PARTS = frozenset({"year", "month", "day", "hour", "minute", "second"})


def schema_examples(schema: Schema, tables: list[str], question: str = "") -> str:
    """A few question -> program pairs over `tables` (names of `schema`'s tables)."""
    asked = words(question)
    chosen = [t for t in schema.tables if t.name in tables] or list(schema.tables)
    # The table the question names (fewest extra words in its name), then the largest.
    chosen.sort(key=lambda t: (-_score(asked, t.name), len(words(t.name)), -t.rows))
    main = chosen[0]
    # Columns the question names come first (column linking, as for tables); the filter example
    # uses a column the question does not name, so that a copied filter stands out.
    num = _pick(main, asked, numeric=True)
    cat = _pick(main, asked, numeric=False, with_values=True)
    key = _pick(main, asked, numeric=False) or cat
    other = _pick(main, set(), numeric=False, with_values=True, avoid=cat) or cat
    lines: list[str] = []
    group = cat or key
    if group is not None and num is not None:
        # Both shapes side by side: shown only the top-1 one, models cut every per-group
        # answer ("for each", "at each") to one row with order_by(...).limit(1).
        out = f"avg_{num.name}"
        per_group = f"{main.name}.group_by(\"{group.name}\").agg({out}=_.{num.name}.mean())"
        lines += [f"Q: What is the average {num.name} for each {group.name}?", per_group,
                  f"Q: Which {group.name} has the highest average {num.name}?",
                  f"{per_group}.order_by(ibis.desc(\"{out}\")).limit(1)"]
    lines += _join_example(schema, main, chosen)
    if group is not None:
        lines += [f"Q: How many different {group.name} values are there?",
                  f"{main.name}.agg(n_{group.name}=_.{group.name}.nunique())"]
    # Last: a small model copies the filter of an example it has just read into its answer.
    if other is not None:
        value = other.values[-1]
        lines += [f"Q: How many {main.name} rows have {other.name} {value!r}?",
                  f"{main.name}.filter(_.{other.name} == {value!r}).agg(n=_.count())"]
    if not lines:  # no usable columns: at least show a count and a selection
        first = main.columns[0].name
        lines += [f"Q: How many rows does {main.name} have?", f"{main.name}.agg(n=_.count())",
                  f"Q: the first 5 {first} values", f"{main.name}.select(\"{first}\").limit(5)"]
    return "\n".join(lines)


def _join_example(schema: Schema, main: Table, chosen: list[Table]) -> list[str]:
    """Join `main` with a table it (or that) references, grouped by a column of the other."""
    names = {t.name: t for t in schema.tables}
    for t in [main, *chosen[1:]]:
        for fk in t.foreign_keys:
            other_name = fk.ref_table if t is main else t.name
            if other_name not in names or other_name == main.name or len(fk.columns) != 1:
                continue
            if t is not main and fk.ref_table != main.name:
                continue
            other = names[other_name]
            left, right = (fk.columns[0], fk.ref_columns[0]) if t is main else (
                fk.ref_columns[0], fk.columns[0])
            mine = {c.name for c in main.columns}
            label = next((c for c in other.columns if c.name not in mine
                          and not c.type.lstrip("!").startswith(_NUMERIC)), None)
            if label is None:
                continue
            return [f"Q: How many {main.name} rows per {other.name} {label.name}?",
                    f"{main.name}.join({other.name}, {main.name}.{left} == {other.name}.{right})"
                    f".group_by(\"{label.name}\").agg(n=_.count())"]
    return []


def _pick(table: Table, asked: set[str], *, numeric: bool, with_values: bool = False,
          avoid: Column | None = None) -> Column | None:
    """The column the question names most, else the first fitting one in schema order. Ids come
    last, then (numbers) calendar parts and integers after floats, (text) columns unique per row
    after repeated ones."""
    asked = asked - words(table.name)  # "singers" names the table, not Singer_ID
    fits = []
    for c in table.columns:
        kind = c.type.lstrip("!")
        if numeric != kind.startswith(_NUMERIC) or (not numeric and kind != "string"):
            continue
        if (with_values and not c.values) or c is avoid:
            continue
        if not c.name.isidentifier() or c.name in ("count", "values"):
            continue
        lowered = c.name.lower()
        id_like = lowered == "id" or lowered.endswith(("_id", "id")) or c.name in table.primary_key
        # Calendar parts are dimensions, not measures: averaging a year teaches nothing.
        plain = ((lowered in _DATE_PARTS) * 2 + (not kind.startswith("float")) if numeric
                 else c.distinct == table.rows)
        fits.append((id_like, -_score(asked, c.name), plain, len(fits), c))
    fits.sort(key=lambda f: f[:4])
    return fits[0][4] if fits else None


def _score(asked: set[str], name: str) -> int:
    """How many of `name`'s words the question uses, abbreviations included (arr ~ arrival)."""
    return sum(any(q == w or len(w) >= 3 and q.startswith(w) or len(q) >= 4 and w.startswith(q)
                   for q in asked) for w in words(name))
