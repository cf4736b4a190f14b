"""Retrieval benchmark: recall@1/5/10 and MRR for question and error queries, side by side
with a baseline BM25 on plain whitespace tokens; index build time and query latency.

    .venv/bin/python bench/retrieval_set/build.py   # (re)build the labelled set
    .venv/bin/python bench/retrieval.py             # writes bench/results/retrieval.json

recall@k counts a query as a hit when any of its relevant docs is in the top k (see
bench/retrieval_set/labels.py for how a called name maps to docs); coverage@5 is the stricter
share of a question's called names that have a doc in the top 5. MRR is over the top 10.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SET_DIR = ROOT / "bench" / "retrieval_set"
# Running this file puts bench/ first on sys.path, where this very file would shadow the
# `retrieval` package: put the repository root there instead.
sys.path[0] = str(ROOT)
sys.path.insert(1, str(SET_DIR))

from labels import key_docs  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table as RichTable  # noqa: E402

from retrieval.index import Index, build_index, load_index  # noqa: E402
from retrieval.query import error_query, question_query, schema_terms  # noqa: E402
from retrieval.tokens import plain_tokens  # noqa: E402
from retrieval.vocab import FOREIGN  # noqa: E402

KS = (1, 5, 10)
RESULTS = ROOT / "bench" / "results" / "retrieval.json"
Ranker = Callable[[str], list[str]]  # query text -> doc ids, best first (top 10)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ranker(index: Index) -> Ranker:
    return lambda text: [d.id for d in index.search(text, max(KS))]


def plain_text(doc) -> str:  # noqa: ANN001
    return " ".join([doc.id, doc.signature, doc.summary, doc.text, *doc.examples])


def score(ranked: list[str], groups: list[set[str]]) -> dict[str, float]:
    """Metrics of one query; `groups` holds one doc set per relevant name."""
    relevant = set().union(*groups)
    first = next((i for i, d in enumerate(ranked) if d in relevant), None)
    out = {f"r@{k}": float(first is not None and first < k) for k in KS}
    out["mrr"] = 0.0 if first is None else 1.0 / (first + 1)
    out["cov@5"] = sum(bool(g & set(ranked[:5])) for g in groups) / len(groups)
    return out


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.fmean(r[m] for r in rows) for m in rows[0]} if rows else {}


def main() -> None:
    t0 = time.perf_counter()
    index = build_index()  # harvest from the installed ibis (imported here first) + BM25
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        load_index(Path(tmp))  # writes the cache
        t0 = time.perf_counter()
        load_index(Path(tmp))
        load_ms = (time.perf_counter() - t0) * 1000
    docs = index.docs

    terms = demo_terms()
    questions, errors, skipped = labelled(docs)
    queries = {
        "question": [(q, question_query(q["question"], terms.get(q["db"], [])), q["question"])
                     for q in questions],
        "error": [(e, error_query(e["error"], e["code"], terms["demo"]), e["error"])
                  for e in errors],
    }
    # All three search the same docs, notes included and capped alike; they differ in the
    # tokens (whitespace vs code-aware, with the index's ranking tweaks) and in the query.
    plain = Index(docs, [plain_tokens(plain_text(d)) for d in docs], index.key, plain_tokens)
    plain.squashed, plain.nested = {}, []  # plain BM25: no respelling, no nested-type prior
    systems: dict[str, tuple[Ranker, bool]] = {
        "baseline (whitespace BM25, raw text)": (ranker(plain), False),
        "code tokenizer, raw text": (ranker(index), False),
        "DevStarL (code tokenizer + query building)": (ranker(index), True),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    per_query: dict[str, list[dict[str, float]]] = {}
    for name, (rank, built) in systems.items():
        results[name] = {}
        for kind, items in queries.items():
            rows = [score(rank(query if built else raw), item["groups"])
                    for item, query, raw in items]
            results[name][kind] = mean_metrics(rows)
            per_query[f"{name}|{kind}"] = rows

    latencies = latency_ms(index, questions, errors, terms)
    ours, base = list(results)[-1], list(results)[0]
    print_report(results, questions, errors, skipped, per_query[f"{ours}|question"],
                 per_query[f"{ours}|error"], build_s, load_ms, latencies)
    all_rows = per_query[f"{ours}|question"] + per_query[f"{ours}|error"]
    figures = {
        "n_queries": len(questions) + len(errors),
        "n_question_queries": len(questions), "n_error_queries": len(errors),
        "question_recall_at_5": round(results[ours]["question"]["r@5"], 4),
        "error_recall_at_5": round(results[ours]["error"]["r@5"], 4),
        "baseline_question_recall_at_5": round(results[base]["question"]["r@5"], 4),
        "baseline_error_recall_at_5": round(results[base]["error"]["r@5"], 4),
        "mrr": round(statistics.fmean(r["mrr"] for r in all_rows), 4),
        "question_mrr": round(results[ours]["question"]["mrr"], 4),
        "error_mrr": round(results[ours]["error"]["mrr"], 4),
        "question_coverage_at_5": round(results[ours]["question"]["cov@5"], 4),
        "build_s": round(build_s, 3), "cached_load_ms": round(load_ms, 1),
        "query_p50_ms": round(statistics.median(latencies), 3),
        "query_p95_ms": round(statistics.quantiles(latencies, n=20)[-1], 3),
        "n_docs": len(docs),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def demo_terms() -> dict[str, list[str]]:
    from tools.database import resolve
    from tools.schema import inspect

    db = resolve(None)
    terms = schema_terms(inspect(db))
    return {db.name: terms, "demo": terms}


def labelled(docs: list) -> tuple[list[dict], list[dict], list[str]]:
    """Queries with their relevant doc groups; names the corpus lacks are dropped (reported)."""
    skipped: list[str] = []
    out = []
    for path in ("questions.jsonl", "errors.jsonl"):
        rows = []
        for row in read_jsonl(SET_DIR / path):
            groups = []
            for key in row["relevant"]:
                ids = key_docs(key, docs)
                if ids:
                    groups.append(ids)
                else:
                    skipped.append(f"{row['id']}:{key}")
            if groups:
                rows.append({**row, "groups": groups})
            else:
                skipped.append(f"{row['id']} (no label left)")
        out.append(rows)
    return out[0], out[1], skipped


def latency_ms(index, questions, errors, terms) -> list[float]:  # noqa: ANN001
    """Per query: build the query text and search the top 10, as the agent does."""
    out = []
    for q in questions:
        t0 = time.perf_counter()
        index.search(question_query(q["question"], terms.get(q["db"], [])), 10)
        out.append((time.perf_counter() - t0) * 1000)
    for e in errors:
        t0 = time.perf_counter()
        index.search(error_query(e["error"], e["code"], terms["demo"]), 10)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def print_report(results, questions, errors, skipped, q_rows, e_rows, build_s, load_ms,  # noqa: ANN001
                 latencies) -> None:
    console = Console(width=150)
    grid = RichTable(title=f"Retrieval: {len(questions)} question queries, "
                           f"{len(errors)} error queries, hit = any relevant doc in the top k")
    grid.add_column("system")
    for kind in ("question", "error"):
        for m in ("r@1", "r@5", "r@10", "mrr"):
            grid.add_column(f"{kind[0]} {m}", justify="right")
    grid.add_column("q cov@5", justify="right")
    for name, by_kind in results.items():
        cells = [f"{by_kind[k][m]:.3f}" for k in ("question", "error")
                 for m in ("r@1", "r@5", "r@10", "mrr")]
        grid.add_row(name, *cells, f"{by_kind['question']['cov@5']:.3f}")
    console.print(grid)

    split = RichTable(title="DevStarL by subset")
    for col in ("subset", "n", "r@1", "r@5", "r@10", "mrr"):
        split.add_column(col, justify="left" if col == "subset" else "right")
    subsets: dict[str, list[dict[str, float]]] = {}
    for q, row in zip(questions, q_rows, strict=True):
        subsets.setdefault(f"questions: {q['source']}", []).append(row)
    for e, row in zip(errors, e_rows, strict=True):
        if e["source"] == "perturbed":
            label = "errors: perturbed task programs (auto)"
        elif _wrong_name(e) in FOREIGN:
            label = "errors: hand-written, name in vocab.FOREIGN"
        else:
            label = "errors: hand-written, other"
        subsets.setdefault(label, []).append(row)
    for label, rows in subsets.items():
        m = mean_metrics(rows)
        split.add_row(label, str(len(rows)), *(f"{m[x]:.3f}" for x in ("r@1", "r@5", "r@10",
                                                                     "mrr")))
    console.print(split)
    print(f"index build (harvest + tokenize + BM25, cold): {build_s:.3f} s; "
          f"cached load: {load_ms:.1f} ms")
    print(f"query (build + search top 10): p50 {statistics.median(latencies):.3f} ms, "
          f"p95 {statistics.quantiles(latencies, n=20)[-1]:.3f} ms over {len(latencies)}")
    if skipped:
        print(f"labels without a corpus doc, left out ({len(skipped)}): {', '.join(skipped)}")


def _wrong_name(error_row: dict) -> str:
    """The foreign name a wrong program used, as its error names it."""
    import re

    m = re.search(r"attribute '?(\w+)'?|keyword argument '(\w+)'|name '(\w+)'",
                  error_row["error"])
    return next((g for g in m.groups() if g), "").lower() if m else ""


if __name__ == "__main__":
    main()
