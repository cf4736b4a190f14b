"""Prompt optimization on the demo database, in one run: EX on the test split of the uncompiled
program and of each optimizer that runs with the bundled model (bootstrap, random-search),
without and with the database's adapter, plus optimization wall time.

    .venv/bin/python bench/optimize.py [--train-limit 24] [--rounds 0] [--threads 8]

Runs against a vLLM server it starts (the bundled model, adapters loaded at run time), so
evaluations run `--threads` tasks at once. Optimizers see only the train and dev splits; the
test split is scored once per program at the end. Each saved program is reloaded and its dev
score checked against the optimizer's. Writes bench/results/optimize.json and optimize.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# A fresh response cache: identical greedy requests within this run are answered once, and
# nothing carries over from earlier runs to flatter the timings.
os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="optimize-bench-cache-")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import LMConfig  # noqa: E402
from agents.programs import load_program, save_program  # noqa: E402
from agents.registry import registered  # noqa: E402
from agents.session import build_agent  # noqa: E402
from harness.judge import Judge  # noqa: E402
from harness.optimize import OptimizeConfig, ex_metric, optimize, score, to_examples  # noqa: E402
from harness.tasks import load_tasks  # noqa: E402
from serving.env import VllmEnv  # noqa: E402
from serving.server import ServeConfig, VllmServer  # noqa: E402
from tools.database import resolve  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
OPTIMIZERS = ("bootstrap", "random-search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-limit", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=0, help="pipeline revise rounds")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=2, help="random-search programs")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    tasks = load_tasks(TASKS)
    train = [t for t in tasks if t.split == "train"][: args.train_limit]
    dev = [t for t in tasks if t.split == "dev"]
    test = to_examples([t for t in tasks if t.split == "test"], "test", scoring_only=True)
    db = resolve(None)
    adapter = registered(db.name)
    out = RESULTS / "optimize"
    out.mkdir(parents=True, exist_ok=True)
    rows, figures = [], {"n_test": len(test), "n_train": len(train), "n_dev": len(dev),
                         "rounds": args.rounds, "adapter": str(adapter) if adapter else None}

    server = VllmServer(ServeConfig(port=args.port), VllmEnv().ensure())
    print(f"starting vLLM (log: {server.log_path})")
    with server:
        for use_adapter in ([False, True] if adapter else [False]):
            suffix = "+adapter" if use_adapter else ""
            lm = LMConfig(backend="server", api_base=server.api_base, max_tokens=args.max_tokens,
                          adapter=str(adapter) if use_adapter else "none", timeout=600)
            agent = build_agent(db, lm, AgentConfig(rounds=args.rounds), program="none")
            judge = Judge(agent.sandbox)
            metric = ex_metric(agent, judge)
            print(f"\n== uncompiled{suffix}: test split")
            ex = score(agent, test, metric, args.threads)
            rows.append(("uncompiled" + suffix, ex, None, None, 0))
            figures["uncompiled" + ("_adapter" if use_adapter else "") + "_ex"] = ex
            for name in OPTIMIZERS:
                print(f"\n== {name}{suffix}: optimizing on {len(train)} train / {len(dev)} dev")
                config = OptimizeConfig(optimizer=name, candidates=args.candidates,
                                        threads=args.threads)
                started = time.perf_counter()
                compiled, report = optimize(agent, train, dev, config, judge)
                seconds = round(time.perf_counter() - started, 1)
                path = save_program(compiled, out / f"{name}{suffix}.json", report)
                fresh = build_agent(db, lm, AgentConfig(rounds=args.rounds), program="none")
                reloaded = score(load_program(fresh, path), to_examples(dev, "dev"),
                                 ex_metric(fresh, judge), args.threads)
                ex = score(compiled, test, metric, args.threads)
                key = name + ("_adapter" if use_adapter else "")
                figures[f"{key}_ex"], figures[f"{key}_s"] = ex, seconds
                figures[f"{key}_dev_ex"] = report["dev_ex"]
                figures[f"{key}_reloaded_dev_ex"] = reloaded
                figures[f"{key}_demos"] = report["demos"]
                rows.append((name + suffix, ex, report["dev_ex"], reloaded, seconds))

    table = Table(title=f"EX on the test split ({len(test)} tasks), rounds={args.rounds}")
    for col in ("program", "test EX", "dev EX", "reloaded dev EX", "optimize s"):
        table.add_column(col)
    for name, ex, dev_ex, reloaded, seconds in rows:
        table.add_row(name, f"{ex:.3f}", "" if dev_ex is None else f"{dev_ex:.3f}",
                      "" if reloaded is None else f"{reloaded:.3f}", f"{seconds:.0f}")
    Console().print(table)
    (RESULTS / "optimize.json").write_text(json.dumps(figures, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([r[0] for r in rows], [r[1] for r in rows], color="#3a7")
    ax.set_ylabel("test EX")
    ax.set_ylim(0, max(0.1, max(r[1] for r in rows) * 1.2))
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(RESULTS / "optimize.png", dpi=120)


if __name__ == "__main__":
    main()
