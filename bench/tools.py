"""Latency of the `compile` and `execute_on_sample` tools over the reference programs.

Sandbox included: every call forks a fresh child of the warm server. Side by side, the design
this replaces: a fresh Python process (with its ibis import) per call.

    .venv/bin/python bench/tools.py [--repeats 5]

Prints a table and writes bench/results/tools.json and bench/results/tools.png.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from figures import save_histogram  # noqa: E402 - bench/figures.py
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.calls import compile_code, execute_on_sample  # noqa: E402
from tools.database import resolve  # noqa: E402
from tools.sample import sample_path  # noqa: E402
from tools.sandbox import Sandbox  # noqa: E402
from tools.schema import inspect  # noqa: E402

RESULTS = ROOT / "bench" / "results"
COLD_CALLS = 5  # a fresh interpreter per call is slow; a few calls show its cost


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per program and tool")
    args = parser.parse_args()

    tasks = [json.loads(line) for line in (ROOT / "bench/tasks/reference.jsonl").read_text()
             .splitlines()]
    db = resolve(None)
    schema = inspect(db)
    sample_path(db)  # build the sample outside the timings

    box = Sandbox()
    t0 = time.perf_counter()
    compile_code("flights.count()", schema, sandbox=box)  # starts the warm server
    server_start_s = time.perf_counter() - t0

    compile_ms: list[float] = []
    execute_ms: list[float] = []
    for task in tqdm(tasks, desc="programs", unit="prog"):
        for _ in range(args.repeats):
            t = time.perf_counter()
            assert compile_code(task["gold_code"], schema, sandbox=box).ok
            compile_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            assert execute_on_sample(task["gold_code"], db, sandbox=box).ok
            execute_ms.append((time.perf_counter() - t) * 1000)
    box.close()

    cold_ms = []
    cold = (
        "import ibis, json, sys; s = json.loads(sys.argv[1]); "
        "t = {n: ibis.table(ibis.schema(c), name=n) for n, c in s.items()}; "
        "print(ibis.to_sql(t['flights'].group_by('carrier').agg(n=t['flights'].count())))"
    )
    for _ in tqdm(range(COLD_CALLS), desc="fresh process per call", unit="call"):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", cold, json.dumps(schema.ibis_schema())],
                       check=True, capture_output=True)
        cold_ms.append((time.perf_counter() - t) * 1000)

    figures = {
        "compile_p50_ms": round(statistics.median(compile_ms), 2),
        "compile_p95_ms": round(percentile(compile_ms, 95), 2),
        "execute_p50_ms": round(statistics.median(execute_ms), 2),
        "execute_p95_ms": round(percentile(execute_ms, 95), 2),
        "n_programs": len(tasks),
        "repeats": args.repeats,
        "server_start_s": round(server_start_s, 3),
        "fresh_process_compile_p50_ms": round(statistics.median(cold_ms), 1),
        "warm_vs_fresh_speedup": round(statistics.median(cold_ms) / statistics.median(compile_ms),
                                       1),
    }
    table = Table(title=f"tools latency, {len(tasks)} reference programs x {args.repeats}")
    for col in ("call", "p50 ms", "p95 ms", "target p50"):
        table.add_column(col)
    table.add_row("compile (warm sandbox)", str(figures["compile_p50_ms"]),
                  str(figures["compile_p95_ms"]), "<= 50")
    table.add_row("execute_on_sample (warm sandbox)", str(figures["execute_p50_ms"]),
                  str(figures["execute_p95_ms"]), "<= 200")
    table.add_row("compile, fresh process per call", str(figures["fresh_process_compile_p50_ms"]),
                  "", "")
    Console().print(table)
    print(f"server start {server_start_s:.2f} s once; warm fork is "
          f"{figures['warm_vs_fresh_speedup']}x faster than a fresh process per call")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tools.json").write_text(json.dumps(figures, indent=2) + "\n")
    save_histogram(RESULTS / "tools.png", [compile_ms, execute_ms],
                   ["compile", "execute_on_sample"], bins=40,
                   xlabel="latency per call, ms (sandbox included)",
                   title=f"tools latency over {len(tasks)} reference programs")


if __name__ == "__main__":
    main()
