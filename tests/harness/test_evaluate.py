"""The EX rule, pass@k and the summary, on tricky handmade cases and generated ones."""

from __future__ import annotations

import itertools
import json
import math
import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import evaluate, ex
from harness.evaluate import (
    ResultTable,
    Sample,
    TaskResult,
    compare,
    pass_at_k,
    percentile,
    results_match,
    summarize,
)
from harness.synth import read_results
from tools.records import ToolResult


def table(columns: str, *rows: list, **kw) -> ResultTable:
    return ResultTable(columns=columns.split(), rows=[list(r) for r in rows], **kw)


# --- EX ------------------------------------------------------------------------------------------


def test_identical_results_match():
    a = table("carrier delay", ["AA", 1.5], ["UA", 2.0])
    assert compare(a, a) == evaluate.Verdict(True, "match")


def test_column_order_does_not_matter():
    assert results_match(table("a b", [1, "x"], [2, "y"]), table("b a", ["x", 1], ["y", 2]))


def test_column_names_do_not_matter():
    assert results_match(table("n", [1], [2]), table("count_star", [1], [2]))


def test_columns_with_equal_values_are_matched_by_rows():
    # Both columns hold {1, 2, 3}: only the swapped bijection makes the rows agree.
    gold = table("a b", [1, 2], [2, 3], [3, 1])
    pred = table("a b", [2, 1], [3, 2], [1, 3])
    assert results_match(pred, gold)
    assert not results_match(table("a b", [2, 1], [3, 2], [3, 1]), gold)


def test_column_matching_gives_up_past_its_limit(monkeypatch):
    monkeypatch.setattr(ex, "MAX_COLUMN_MATCHINGS", 1)
    verdict = compare(table("a b", [2, 1], [3, 2], [1, 3]), table("a b", [1, 2], [2, 3], [3, 1]))
    assert not verdict.match and verdict.reason.startswith("over 1 column matchings")


@pytest.mark.parametrize(("value", "matches"), [
    (2.0 * (1 + 1e-7), True), (2.0 * (1 - 1e-7), True),
    (2.0 * (1 + 1e-5), False), (2.0 * (1 - 1e-5), False),
])
def test_floats_compare_with_relative_tolerance(value, matches):
    assert results_match(table("x", [value]), table("x", [2.0])) is matches


def test_tolerance_is_relative_for_large_values():
    assert results_match(table("x", [1e12 + 1e5]), table("x", [1e12]))
    assert not results_match(table("x", [1e12 + 1e7]), table("x", [1e12]))


def test_values_beside_zero_use_the_small_absolute_tolerance():
    assert results_match(table("x", [1e-17]), table("x", [0.0]))
    assert not results_match(table("x", [1e-6]), table("x", [0.0]))


def test_int_and_float_compare_numerically():
    assert results_match(table("x", [3]), table("x", [3.0]))
    assert results_match(table("x", [3]), table("x", [3.0000000001]))


def test_ints_compare_exactly():
    assert not results_match(table("x", [10**12 + 1]), table("x", [10**12]))


def test_booleans_are_not_numbers():
    assert not results_match(table("x", [True]), table("x", [1]))


def test_null_equals_null_and_nothing_else():
    assert results_match(table("x y", [None, 1]), table("x y", [None, 1]))
    assert not results_match(table("x", [None]), table("x", [0]))
    assert not results_match(table("x", [None]), table("x", [""]))


def test_nan_equals_nan():
    assert results_match(table("x", [math.nan]), table("x", [math.nan]))
    assert not results_match(table("x", [math.nan]), table("x", [0.0]))
    # The sandbox sends non-finite floats as strings: equal strings match.
    assert results_match(table("x", ["nan"]), table("x", ["nan"]))


def test_dates_compare_as_iso_strings():
    assert results_match(table("d", ["2013-01-01"]), table("d", ["2013-01-01"]))
    assert not results_match(table("d", ["2013-01-01T00:00:00"]), table("d", ["2013-01-01"]))


def test_unordered_tasks_ignore_row_order_ordered_ones_do_not():
    pred, gold = table("x", [1], [2], [3]), table("x", [3], [1], [2])
    assert results_match(pred, gold, ordered=False)
    assert not results_match(pred, gold, ordered=True)
    assert results_match(gold, gold, ordered=True)


def test_rows_are_multisets():
    assert not results_match(table("x", ["a"], ["a"], ["b"]), table("x", ["a"], ["b"], ["b"]))
    assert results_match(table("x", ["a"], ["b"], ["a"]), table("x", ["a"], ["a"], ["b"]))


def test_near_tied_floats_are_paired_by_matching():
    # Sorted pairing puts (1.0, 5) against (1.0, 4); only a matching finds the bijection.
    eps = 1e-10
    pred = table("x y", [1.0, 5.0], [1.0 + eps, 4.0])
    gold = table("x y", [1.0 + eps, 5.0], [1.0, 4.0])
    assert results_match(pred, gold)


def test_near_tie_matching_is_bounded(monkeypatch):
    monkeypatch.setattr(ex, "MAX_MATCH_GROUP", 1)
    pred = table("x y", [1.0, 5.0], [1.0 + 1e-10, 4.0])
    gold = table("x y", [1.0 + 1e-10, 5.0], [1.0, 4.0])
    assert not results_match(pred, gold)


def test_empty_results_match_when_widths_agree():
    assert compare(table("a b"), table("c d")).match
    assert compare(table("a"), table("a b")).reason == "column count 1 vs 2"


def test_column_count_mismatch_never_matches():
    verdict = compare(table("a b", [1, 1]), table("a", [1]))
    assert verdict == evaluate.Verdict(False, "column count 2 vs 1")


def test_row_count_mismatch():
    assert compare(table("a", [1], [1]), table("a", [1])).reason == "row count 2 vs 1"


def test_values_differ():
    assert compare(table("a", [1]), table("a", [2])) == evaluate.Verdict(False, "values differ")


def test_truncated_results_match_on_count_and_kept_rows():
    pred = table("a", [1], [2], row_count=5)
    assert pred.truncated
    verdict = compare(pred, table("a", [1], [2], row_count=5))
    assert verdict == evaluate.Verdict(True, "truncated: kept rows match", partial=True)
    assert compare(pred, table("a", [1], [2], row_count=6)).reason == "row count 5 vs 6"
    verdict = compare(pred, table("a", [1], [3], row_count=5))
    assert verdict == evaluate.Verdict(False, "truncated: kept rows differ", partial=True)


def test_truncated_ordered_result_is_a_prefix_check():
    full = table("a", [1], [2], [3])
    assert compare(table("a", [1], [2], row_count=3), full, ordered=True).match
    assert not compare(table("a", [2], [1], row_count=3), full, ordered=True).match


def test_columns_past_the_preview_width_count():
    kept = table("a", [1], n_columns=150)
    assert kept.truncated
    assert compare(kept, table("a", [1], n_columns=120)).reason == "column count 150 vs 120"


def test_from_tool_result():
    preview = {"columns": ["carrier", "n"], "types": ["string", "int64"],
               "rows": [["AA", 3], ["UA", 4]], "truncated": True, "n_columns": 2}
    result = ResultTable.from_tool_result(ToolResult(True, "ok", preview=preview, rows=9))
    assert result == ResultTable(["carrier", "n"], [["AA", 3], ["UA", 4]], 9, True, 2)
    with pytest.raises(ValueError):
        ResultTable.from_tool_result(ToolResult.failure("runtime_error", "boom"))


def test_rows_must_fit_the_columns():
    with pytest.raises(ValueError):
        table("a b", [1])


cells = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b"]),
                  st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: abs(f) > 1e-3))


@st.composite
def tables(draw) -> ResultTable:
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=8))
    return ResultTable([f"c{i}" for i in range(width)], rows)


@settings(deadline=None, database=None)  # a loaded CI machine must not flake
@given(tables(), st.randoms(use_true_random=False))
def test_shuffled_rows_and_columns_still_match(gold, rnd: random.Random):
    perm = list(range(len(gold.columns)))
    rnd.shuffle(perm)
    rows = [[row[j] for j in perm] for row in gold.rows]
    rnd.shuffle(rows)
    pred = ResultTable([f"p{j}" for j in perm], rows)
    assert results_match(pred, gold)


@settings(deadline=None, database=None)
@given(tables(), st.data())
def test_changing_one_number_breaks_the_match(gold, data):
    spots = [(r, c) for r, row in enumerate(gold.rows) for c, v in enumerate(row)
             if isinstance(v, float)]
    if not spots:
        return
    r, c = data.draw(st.sampled_from(spots))
    rows = [list(row) for row in gold.rows]
    rows[r][c] *= 1 + 1e-3
    assert not results_match(ResultTable(gold.columns, rows), gold)


# --- pass@k --------------------------------------------------------------------------------------


def brute_force(n: int, c: int, k: int) -> float:
    draws = list(itertools.combinations([True] * c + [False] * (n - c), k))
    return sum(any(d) for d in draws) / len(draws)


@settings(deadline=None, database=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_enumeration(nck):
    n, c, k = nck
    assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12)


def test_pass_at_k_edges():
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 6)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)


def test_pass_at_k_is_stable_for_large_n():
    n, c, k = 2000, 37, 100
    exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12)


# --- records and summary -------------------------------------------------------------------------


def sample(correct: bool | None, ok: bool = True, rounds: int = 0, seconds: float = 1.0,
           tokens: int = 10) -> Sample:
    return Sample(code="t", sql="SELECT 1", compiled=ok, executed=ok, correct=correct,
                  rounds=rounds, seconds=seconds, tokens=tokens, trace_id="x")


def handmade_results() -> list[TaskResult]:
    def task(i: int, difficulty: str | None, samples: list[Sample]) -> TaskResult:
        return TaskResult(f"t{i}", "demo", f"q{i}", difficulty, False, samples)

    return [
        task(1, "easy", [sample(True)] + [sample(False)] * 4),
        task(2, "easy", [sample(True, rounds=1)] * 2 + [sample(False)] * 3),
        task(3, "hard", [sample(False, ok=False, seconds=3.0, tokens=30)] * 5),
        task(4, None, [sample(None)] * 5),  # no gold
    ]


def test_summarize_handmade():
    summary = summarize(handmade_results())
    overall = summary["overall"]
    assert overall["tasks"] == 4 and overall["gold_tasks"] == 3 and overall["n"] == 5
    assert overall["ex"] == pytest.approx(2 / 3)
    assert overall["first_try"] == pytest.approx(1 / 3)
    assert overall["pass@1"] == pytest.approx((0.2 + 0.4 + 0) / 3)
    assert overall["pass@5"] == pytest.approx(2 / 3)
    assert overall["comp@1"] == overall["exec@1"] == pytest.approx(0.75)
    assert "pass@10" not in overall  # k > n
    assert overall["rounds_mean"] == pytest.approx(0.1)
    assert overall["rounds_hist"] == {"0": 18, "1": 2}
    assert overall["seconds_p50"] == 1.0 and overall["seconds_p95"] == 3.0
    assert overall["tokens_mean"] == 15 and overall["tokens_per_s"] == pytest.approx(10.0)
    assert list(summary["by_difficulty"]) == ["easy", "hard", "unknown"]
    assert summary["by_difficulty"]["easy"]["ex"] == 1.0
    assert summary["by_difficulty"]["hard"]["exec@1"] == 0.0
    assert summary["by_difficulty"]["unknown"]["ex"] is None
    json.dumps(summary, allow_nan=False)


def test_summarize_empty_and_sampleless():
    assert summarize([])["overall"]["ex"] is None
    with pytest.raises(ValueError):
        summarize([TaskResult("t", "demo", "q")])


def test_first_try_is_derived_when_not_given():
    assert Sample(correct=True).first_try is True
    assert Sample(correct=True, rounds=1).first_try is False
    assert Sample(correct=None).first_try is False


def test_task_result_round_trips_through_jsonl(tmp_path: Path):
    results = handmade_results()
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in results))
    assert list(read_results(path).values()) == results
    data = results[0].to_dict() | {"later_field": 1}
    assert TaskResult.from_dict(data) == results[0]


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
