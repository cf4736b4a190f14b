"""The same programs on each engine: latency of compile, execute_on_sample and the full run over
the reference programs, and EX of the demo test split through the pipeline, per engine.

    .venv/bin/python bench/engines.py [--engines duckdb,postgres,spark] [--repeats 3]
                                      [--ex-stride K [--resume]] [--max-tokens 256]

DuckDB is the demo file; PostgreSQL a local server this script starts (harness/postgres.py) with
the demo tables, reached through its read-only role as a user would; Spark a local Spark Connect
server (harness/spark.py, `local[2]`) with the demo tables as Parquet-backed tables. Sandbox
included in every call; each engine's sample is built before the timings. With --ex-stride K
(0: skip), every K-th test task goes through the pipeline with the default model (and its
default settings), the task's gold program and the judge running on the same engine.

Prints a table; writes bench/results/engines.json (`engines.<name>.{compile_p50_ms,
sample_p50_ms, full_p50_ms, ex}` and more) and bench/results/engines.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, make_lm  # noqa: E402
from harness.evaluate import summarize  # noqa: E402
from harness.postgres import LocalPostgres  # noqa: E402
from harness.spark import LocalSpark  # noqa: E402
from harness.synth import SynthConfig, synthesize  # noqa: E402
from harness.tasks import load_tasks  # noqa: E402
from harness.tracking import run_meta, start_run  # noqa: E402
from tools.calls import compile_code, execute, execute_on_sample  # noqa: E402
from tools.database import Database, redact, resolve  # noqa: E402
from tools.sample import sample_path  # noqa: E402
from tools.sandbox import Sandbox  # noqa: E402
from tools.schema import inspect  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REFERENCE = ROOT / "bench" / "tasks" / "reference.jsonl"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
ENGINES = ("duckdb", "postgres", "spark")
CALLS = ("compile", "sample", "full")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per program and call")
    parser.add_argument("--ex-stride", type=int, default=0,
                        help="every K-th test task through the pipeline for EX (0: skip)")
    parser.add_argument("--max-tokens", type=int, default=LMConfig.max_tokens)
    parser.add_argument("--resume", action="store_true",
                        help="EX: go on from the tasks an interrupted run already wrote")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the servers this script started are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = args.engines.split(",")
    if unknown := set(names) - set(ENGINES):
        parser.error(f"unknown engines {sorted(unknown)}; known: {', '.join(ENGINES)}")

    programs = [json.loads(line) for line in REFERENCE.read_text().splitlines()]
    load_before = os.getloadavg()
    figures: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        for name in names:
            db, setup_s = open_engine(name, stack)
            figures[name] = measure(name, db, programs, args.repeats)
            figures[name]["setup_s"] = round(setup_s, 2)
            if args.ex_stride > 0:
                figures[name].update(ex(name, db, args))
    figures_path = RESULTS / "engines.json"
    old = json.loads(figures_path.read_text()) if figures_path.exists() else {}
    # an engine left out keeps its figures, and a run without --ex-stride keeps the EX before
    engines = old.get("engines", {})
    for name, new in figures.items():
        engines[name] = {**engines.get(name, {}), **new}
    record = {"engines": engines, "n_programs": len(programs), "repeats": args.repeats,
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    figures_path.write_text(json.dumps(record, indent=2) + "\n")
    show(engines, len(programs), args.repeats)
    plot(engines, RESULTS / "engines.png", len(programs))


def open_engine(name: str, stack: contextlib.ExitStack) -> tuple[Database, float]:
    """The demo database on `name`, as a user would name it, and the seconds set-up took."""
    t = time.perf_counter()
    if name == "duckdb":
        return resolve(None), time.perf_counter() - t
    if name == "spark":
        spark = LocalSpark(database="nycflights13")
        stack.callback(spark.stop)
        spark.start().load_duckdb(resolve(None).path)
        return resolve(spark.url), time.perf_counter() - t
    server = LocalPostgres(database="nycflights13").start()
    stack.callback(server.stop)
    server.load_duckdb(resolve(None).path)
    db = resolve(server.add_reader())
    return db, time.perf_counter() - t


def measure(name: str, db: Database, programs: list[dict], repeats: int) -> dict:
    schema = inspect(db, refresh=True)
    t = time.perf_counter()
    sample_path(db)
    sample_build_s = time.perf_counter() - t
    box = Sandbox()
    compile_code("flights.count()", schema, sandbox=box)  # starts the warm server
    ms: dict[str, list[float]] = {call: [] for call in CALLS}
    calls = {
        "compile": lambda code: compile_code(code, schema, dialect=db.dialect, sandbox=box),
        "sample": lambda code: execute_on_sample(code, db, sandbox=box),
        "full": lambda code: execute(code, db, sandbox=box),
    }
    try:
        for task in tqdm(programs, desc=name, unit="prog"):
            for call, run in calls.items():
                for _ in range(repeats):
                    t = time.perf_counter()
                    result = run(task["gold_code"])
                    ms[call].append((time.perf_counter() - t) * 1000)
                    assert result.ok, (name, call, task["id"], result.error)
    finally:
        box.close()
    figures = {f"{call}_p50_ms": round(statistics.median(ms[call]), 1) for call in CALLS}
    figures |= {f"{call}_p95_ms": round(p95(ms[call]), 1) for call in CALLS}
    figures |= {"dialect": db.dialect, "sample_build_s": round(sample_build_s, 2)}
    return figures


def ex(name: str, db: Database, args: argparse.Namespace) -> dict:
    """EX of every K-th demo test task through the pipeline, everything on this engine."""
    tasks = [replace(t, db=db.url or "demo")
             for t in load_tasks(TASKS, splits="test")[:: args.ex_stride]]
    lm_config = LMConfig(model=DEFAULT_MODEL, max_tokens=args.max_tokens, cache=False).validate()
    agent_config = AgentConfig()
    meta = run_meta(TASKS, lm_config, agent_config, SynthConfig(), "test", None)
    out = RESULTS / "engines" / f"{name}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        out.unlink(missing_ok=True)
    tracker = start_run("engines", meta, name=f"engines-{name}")
    results = synthesize(tasks, out, make_lm(lm_config), lm_config, agent_config, SynthConfig(),
                         tracker, program="none")
    tracker.finish()
    redact_results(out)
    overall = summarize(results)["overall"]
    return {"ex": overall["ex"], "ex_n": overall["tasks"], "ex_stride": args.ex_stride,
            "ex_p50_s": overall["seconds_p50"], "model": lm_config.model}


def redact_results(path: Path) -> None:
    """The results file without the throwaway server's password in each task's `db`."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({**r, "db": redact(r["db"])}) + "\n" for r in rows))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 \
        else values[0]


def show(engines: dict[str, dict], n: int, repeats: int) -> None:
    table = Table(title=f"engines: {n} reference programs x {repeats} (sandbox included)")
    for col in ("engine", "compile p50 ms", "sample p50 ms", "full p50 ms", "full p95 ms",
                "EX (n)"):
        table.add_column(col)
    for name, f in engines.items():
        score = f"{f['ex']:.3f} ({f['ex_n']})" if "ex" in f else "-"
        table.add_row(name, str(f["compile_p50_ms"]), str(f["sample_p50_ms"]),
                      str(f["full_p50_ms"]), str(f["full_p95_ms"]), score)
    Console().print(table)


def plot(engines: dict[str, dict], path: Path, n: int) -> None:
    """p50 of each call per engine (bars) with its p95 (a tick), from engines.json: every engine
    measured so far, also those an earlier run measured."""
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(engines)
    for i, (name, f) in enumerate(engines.items()):
        x = [c + (i - (len(engines) - 1) / 2) * width for c in range(len(CALLS))]
        p50 = [f[f"{call}_p50_ms"] for call in CALLS]
        p95 = [f[f"{call}_p95_ms"] for call in CALLS]
        ax.bar(x, p50, width * 0.9, color=f"C{i}", label=name)
        ax.errorbar(x, p95, fmt="_", color="black", markersize=10)
        for xi, v in zip(x, p50, strict=True):
            ax.annotate(f"{v:.0f}", (xi, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(CALLS)), ["compile", "execute_on_sample", "full run"])
    ax.set_yscale("log")
    ax.set_ylabel("ms per call, p50 (bar) and p95 (tick)")
    ax.set_title(f"the same {n} reference programs per engine (sandbox included)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
