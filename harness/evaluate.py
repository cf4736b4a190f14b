"""Metrics (DESIGN.md, Metrics): results-file records, pass@k, and the summary of a results file.
The EX rule itself is `harness.ex` (re-exported here)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from harness.ex import (  # noqa: F401 - re-exported: the EX rule is part of the evaluation API
    ABS_TOL,
    REL_TOL,
    ResultTable,
    Verdict,
    compare,
    results_match,
)

RESULT_VERSION = 1
SUMMARY_VERSION = 1
KS = (1, 5, 10)
DIFFICULTY_ORDER = ("easy", "medium", "hard", "extra")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate that at least one of k draws from n samples (c good) is good.

    1 - C(n-c, k) / C(n, k), as the product 1 - prod_{i=n-c+1}^{n} (1 - k/i) (Chen et al. 2021),
    which never forms the huge binomials.
    """
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
    if k > n:
        raise ValueError(f"k={k} is more than the n={n} samples")
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


# --- records -----------------------------------------------------------------------------------


@dataclass
class Sample:
    """One answer to a task: the program, what became of it, and what it cost."""

    code: str | None = None
    sql: str | None = None
    compiled: bool = False
    executed: bool = False  # ran without error
    correct: bool | None = None  # matched gold (False when it failed); None: no gold to judge
    rounds: int = 0  # revise rounds used
    first_try: bool | None = None  # correct with no revision; None: derived from the above
    seconds: float = 0.0  # wall time of the whole answer
    tokens: int = 0  # generated tokens
    error: str | None = None
    trace_id: str | None = None

    def __post_init__(self) -> None:
        if self.first_try is None:
            self.first_try = self.correct is True and self.rounds == 0


@dataclass
class TaskResult:
    """A task's samples; one JSON line each in a results file."""

    task_id: str
    db: str
    question: str
    difficulty: str | None = None
    ordered: bool = False
    samples: list[Sample] = field(default_factory=list)
    version: int = RESULT_VERSION

    @property
    def has_gold(self) -> bool:
        return any(s.correct is not None for s in self.samples)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        """The record `data` holds (fields it does not know are ignored); ValueError, naming
        the field, when it is not an object of well-typed fields."""
        data = _known(cls, data, "a result")
        samples = data.get("samples", [])
        if not isinstance(samples, list):
            raise ValueError(f'field "samples": expected an array, got {_kind(samples)}')
        data["samples"] = [Sample(**_known(Sample, s, "a sample")) for s in samples]
        return cls(**data)


# JSON types each record field may hold (a float field takes an integer too: JSON has one
# number type). Checked on reading, so a damaged line fails there and not in a metric later.
_TYPES: dict[str, tuple[type, ...]] = {
    "task_id": (str,), "db": (str,), "question": (str,), "difficulty": (str, type(None)),
    "ordered": (bool,), "version": (int,),
    "code": (str, type(None)), "sql": (str, type(None)), "compiled": (bool,),
    "executed": (bool,), "correct": (bool, type(None)), "rounds": (int,),
    "first_try": (bool, type(None)), "seconds": (float, int), "tokens": (int,),
    "error": (str, type(None)), "trace_id": (str, type(None)),
}


def _known(cls: type, data: Any, what: str) -> dict[str, Any]:
    """`data`'s fields that `cls` has, each of its JSON type; required ones present."""
    if not isinstance(data, dict):
        raise ValueError(f"expected {what} object, got {_kind(data)}")
    out = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f'missing field "{f.name}" in {what}')
            continue
        value, types = data[f.name], _TYPES.get(f.name)
        if types is not None and (not isinstance(value, types)
                                  or (isinstance(value, bool) and bool not in types)):
            raise ValueError(f'field "{f.name}": expected {_names(types)}, got {_kind(value)}')
        out[f.name] = value
    return out


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


# --- summary -----------------------------------------------------------------------------------


def summarize(results: Sequence[TaskResult], ks: Iterable[int] = KS) -> dict[str, Any]:
    """Metrics overall and per difficulty (tasks without one under "unknown").

    EX and first-try are on each task's first sample, over tasks with gold. comp@k, exec@k and
    pass@k (pass@k over tasks with gold) use every sample, for each k no larger than the fewest
    samples any task has. Cost (rounds, seconds, tokens) is per sample, one sample being one
    complete answer, so with n = 1 it is per task; tokens/s is total tokens over total seconds.
    """
    ks = tuple(ks)
    for r in results:
        if not r.samples:
            raise ValueError(f"task {r.task_id!r} has no samples")
    groups: dict[str, list[TaskResult]] = defaultdict(list)
    for r in results:
        groups[r.difficulty or "unknown"].append(r)
    return {
        "version": SUMMARY_VERSION,
        "overall": _metrics(results, ks),
        "by_difficulty": {d: _metrics(groups[d], ks) for d in sorted(groups, key=_difficulty)},
    }


def _difficulty(name: str) -> tuple[int, str]:
    if name in DIFFICULTY_ORDER:
        return (DIFFICULTY_ORDER.index(name), name)
    return (len(DIFFICULTY_ORDER) + (name == "unknown"), name)


def _metrics(results: Sequence[TaskResult], ks: tuple[int, ...]) -> dict[str, Any]:
    gold = [r for r in results if r.has_gold]
    n = min((len(r.samples) for r in results), default=0)
    out: dict[str, Any] = {
        "tasks": len(results),
        "gold_tasks": len(gold),
        "n": n,
        "ex": _mean(r.samples[0].correct is True for r in gold),
        "first_try": _mean(bool(r.samples[0].first_try) for r in gold),
    }
    for k in (k for k in ks if k <= n):
        out[f"comp@{k}"] = _mean(_at_k(r, "compiled", k) for r in results)
        out[f"exec@{k}"] = _mean(_at_k(r, "executed", k) for r in results)
        out[f"pass@{k}"] = _mean(_at_k(r, "correct", k) for r in gold)
    samples = [s for r in results for s in r.samples]
    rounds = [s.rounds for s in samples]
    seconds = [s.seconds for s in samples]
    tokens = [s.tokens for s in samples]
    total_s = sum(seconds)
    out.update({
        "rounds_mean": _mean(rounds),
        "rounds_hist": {str(k): v for k, v in sorted(Counter(rounds).items())},
        "seconds_p50": percentile(seconds, 50),
        "seconds_p95": percentile(seconds, 95),
        "tokens_mean": _mean(tokens),
        "tokens_p50": percentile(tokens, 50),
        "tokens_per_s": sum(tokens) / total_s if total_s > 0 else None,
    })
    return out


def _at_k(result: TaskResult, attr: str, k: int) -> float:
    good = sum(getattr(s, attr) is True for s in result.samples)
    return pass_at_k(len(result.samples), good, k)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
