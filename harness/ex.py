"""The EX rule (DESIGN.md, Metrics): whether a predicted query result matches the gold one.

EX compares two query results: rows as multisets (as lists when the task is ordered), columns
matched regardless of order and name, numbers with relative tolerance 1e-6, NULL equals NULL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.records import ToolResult

REL_TOL = 1e-6
# Relative tolerance alone never accepts a value beside 0.0 (0.0 vs the 1e-17 a cancelling float
# sum leaves behind); 1e-9 absorbs that noise for sums of values up to about 1e6 and sits below
# any quantity the benchmark databases hold.
ABS_TOL = 1e-9
MAX_COLUMN_MATCHINGS = 1000  # column bijections tried before giving up (many identical columns)
MAX_MATCH_GROUP = 256  # rows per group for exact bipartite matching of near-tied numbers


# --- results and the EX rule -------------------------------------------------------------------


@dataclass(frozen=True)
class ResultTable:
    """A query result as the evaluator sees it.

    `rows` are the rows kept (the sandbox returns at most `max_rows`), `row_count` the full count,
    `n_columns` the full width (the sandbox keeps at most 100 columns). `truncated` is set when
    either was cut. Dates and timestamps arrive as ISO strings and compare as strings.
    """

    columns: list[str]
    rows: list[list[Any]]
    row_count: int | None = None  # None: len(rows)
    truncated: bool = False
    n_columns: int | None = None  # None: len(columns)

    def __post_init__(self) -> None:
        if self.row_count is None:
            object.__setattr__(self, "row_count", len(self.rows))
        if self.n_columns is None:
            object.__setattr__(self, "n_columns", len(self.columns))
        if self.row_count < len(self.rows) or self.n_columns < len(self.columns):
            raise ValueError("row_count / n_columns smaller than what is kept")
        if any(len(row) != len(self.columns) for row in self.rows):
            raise ValueError("every row needs one value per column")
        cut = self.row_count > len(self.rows) or self.n_columns > len(self.columns)
        object.__setattr__(self, "truncated", self.truncated or cut)

    @classmethod
    def from_tool_result(cls, result: ToolResult) -> ResultTable:
        """The table of an executed ToolResult (`execute` / `execute_on_sample`)."""
        preview = result.preview or {}
        if not result.ok or "rows" not in preview:
            raise ValueError(f"no result table in a {result.kind!r} ToolResult")
        rows = [list(row) for row in preview["rows"]]
        return cls(columns=list(preview["columns"]), rows=rows,
                   row_count=len(rows) if result.rows is None else result.rows,
                   truncated=bool(preview.get("truncated", False)),
                   n_columns=preview.get("n_columns"))


@dataclass(frozen=True)
class Verdict:
    """Whether a predicted result matches the gold one, and why not."""

    match: bool
    reason: str
    partial: bool = False  # decided on the kept rows only: a result was truncated


def results_match(pred: ResultTable, gold: ResultTable, ordered: bool = False) -> bool:
    return compare(pred, gold, ordered).match


def compare(pred: ResultTable, gold: ResultTable, ordered: bool = False) -> Verdict:
    """Apply DESIGN's EX rule to two results.

    A truncated result is judged on counts plus the rows both sides kept (the first
    min(kept) rows), and the verdict says so (`partial`). For ordered tasks that is a prefix
    check; for unordered ones two right programs may return different first rows, so a
    truncated unordered comparison can reject a right answer: fetch every row for exact EX.
    """
    if pred.n_columns != gold.n_columns:
        return Verdict(False, f"column count {pred.n_columns} vs {gold.n_columns}")
    if pred.row_count != gold.row_count:
        return Verdict(False, f"row count {pred.row_count} vs {gold.row_count}")
    partial = pred.truncated or gold.truncated
    if len(pred.columns) != len(gold.columns):
        return Verdict(False, "truncated: different columns kept", partial)
    keep = min(len(pred.rows), len(gold.rows))
    a = [tuple(_key(v) for v in row) for row in pred.rows[:keep]]
    b = [tuple(_key(v) for v in row) for row in gold.rows[:keep]]
    found = _match_columns(a, b, pred.columns, gold.columns, ordered)
    if found is None:
        return Verdict(False, f"over {MAX_COLUMN_MATCHINGS} column matchings tried", partial)
    if partial:
        return Verdict(found, "truncated: kept rows " + ("match" if found else "differ"), True)
    return Verdict(found, "match" if found else "values differ")


def _key(v: Any) -> tuple:
    """A hashable, sortable cell: (rank, value). Numbers share a rank so 3 == 3.0."""
    if v is None:
        return (0,)
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, numbers.Real):  # numpy scalars too
        v = int(v) if isinstance(v, numbers.Integral) else float(v)
        return (3,) if math.isnan(v) else (2, v)  # NaN equals NaN
    if isinstance(v, str):
        return (4, v)
    if isinstance(v, dt.date | dt.time):
        return (4, v.isoformat())  # as the sandbox sends them
    if isinstance(v, list | tuple):
        return (5, tuple(_key(x) for x in v))
    if isinstance(v, dict):
        return (6, tuple(sorted((str(k), _key(x)) for k, x in v.items())))
    return (7, str(v))


def _close(x: tuple, y: tuple) -> bool:
    if x == y:
        return True
    if x[0] != y[0]:
        return False
    if x[0] == 2:
        a, b = x[1], y[1]
        if isinstance(a, int) and isinstance(b, int):
            return False  # two ints are equal or not; no tolerance
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if x[0] == 5:
        return len(x[1]) == len(y[1]) and all(map(_close, x[1], y[1]))
    if x[0] == 6:
        return ([k for k, _ in x[1]] == [k for k, _ in y[1]]
                and all(_close(p, q) for (_, p), (_, q) in zip(x[1], y[1], strict=True)))
    return False


def _rows_close(r: tuple, s: tuple) -> bool:
    return all(map(_close, r, s))


def _lists_close(a: Sequence[tuple], b: Sequence[tuple]) -> bool:
    return len(a) == len(b) and all(map(_close, a, b))


def _match_columns(a: list[tuple], b: list[tuple], a_names: list[str], b_names: list[str],
                   ordered: bool) -> bool | None:
    """Find a pred-to-gold column bijection under which the rows match (None: gave up).

    A pred column can stand for a gold column only if their values agree (as lists when ordered,
    as sorted multisets otherwise); bijections are tried only among such candidates, same name
    and same position first.
    """
    width = len(b_names)
    a_cols = [[row[j] for row in a] for j in range(width)]
    b_cols = [[row[i] for row in b] for i in range(width)]
    if not ordered:
        a_cols, b_cols = [sorted(c) for c in a_cols], [sorted(c) for c in b_cols]
    candidates = []
    for i in range(width):
        fits = [j for j in range(width)
                if a_cols[j] == b_cols[i] or _lists_close(a_cols[j], b_cols[i])]
        if not fits:
            return False
        fits.sort(key=lambda j: (a_names[j].casefold() != b_names[i].casefold(), j != i))
        candidates.append(fits)
    order = sorted(range(width), key=lambda i: len(candidates[i]))
    perm = [-1] * width  # gold column i <- pred column perm[i]
    used = [False] * width
    tries = 0

    def search(depth: int) -> bool | None:
        nonlocal tries
        if depth == width:
            tries += 1
            if tries > MAX_COLUMN_MATCHINGS:
                return None
            moved = [tuple(row[j] for j in perm) for row in a]
            return _lists_close_rows(moved, b) if ordered else _multiset_equal(moved, b)
        i = order[depth]
        for j in candidates[i]:
            if used[j]:
                continue
            perm[i], used[j] = j, True
            found = search(depth + 1)
            used[j] = False
            if found is not False:
                return found
        return False

    return search(0)


def _lists_close_rows(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(map(_rows_close, a, b))


def _multiset_equal(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    if Counter(a) == Counter(b):
        return True
    # Within tolerance: group rows by their exact cells (numbers and nested values blanked),
    # then pair each group's rows sorted, then, if near ties spoil that, by bipartite matching.
    groups_a, groups_b = _groups(a), _groups(b)
    if groups_a.keys() != groups_b.keys():
        return False
    return all(_group_equal(groups_a[k], groups_b[k]) for k in groups_a)


def _groups(rows: list[tuple]) -> dict[tuple, list[tuple]]:
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        out[tuple((9,) if c[0] in (2, 5, 6) else c for c in row)].append(row)
    return out


def _group_equal(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    a, b = sorted(a), sorted(b)
    if _lists_close_rows(a, b):
        return True
    return len(a) <= MAX_MATCH_GROUP and _perfect_matching(a, b)


def _perfect_matching(a: list[tuple], b: list[tuple]) -> bool:
    """Kuhn's augmenting paths over the rows-within-tolerance graph."""
    edges = [[j for j, s in enumerate(b) if _rows_close(r, s)] for r in a]
    owner = [-1] * len(b)

    def augment(i: int, seen: list[bool]) -> bool:
        for j in edges[i]:
            if not seen[j]:
                seen[j] = True
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(augment(i, [False] * len(b)) for i in range(len(a)))


# --- pass@k --------------------------------------------------------------------------------------
