"""Prompt optimization on the demo database: EX on the dev and test splits of the uncompiled
program and of each DSPy optimizer (bootstrap, random-search, MIPROv2, GEPA), without and with
the database's registered adapter, plus optimization wall time.

    .venv/bin/python bench/optimize.py [--only uncompiled,bootstrap,random-search,mipro,gepa]
        [--prompt-model qwen2.5-coder-1.5b] [--rounds 0] [--train-limit 24] [--fresh]
        [--backend local|server]

The task model is the default model, in this process (llama.cpp where built), or on a vLLM
server the bench starts (`--backend server`, `--threads` tasks at once). MIPROv2 proposes
instructions and GEPA reflects with `--prompt-model`, in this process. Optimizers see only the
train and dev splits; the test split is scored once per program at the end, and each saved
program is reloaded and its dev score checked against the optimizer's.

Each finished program is written into bench/results/optimize.json at once, so a killed run
keeps what it finished and a rerun skips it (`--fresh` starts over). Keys: `<name>_ex` (test),
`<name>_dev_ex`, `<name>_s`, `<name>_reloaded_dev_ex`, `<name>_demos`, with `_adapter` after the
name for the adapter's runs; `prompt_model`. Also optimize.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
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
from agents.lm import DEFAULT_MODEL, LMConfig, make_lm  # noqa: E402
from agents.programs import load_program, save_program  # noqa: E402
from agents.registry import registered  # noqa: E402
from agents.session import build_agent  # noqa: E402
from devstarl.optimize import prompt_config  # noqa: E402
from harness.judge import Judge  # noqa: E402
from harness.optimize import OptimizeConfig, ex_metric, optimize, score, to_examples  # noqa: E402
from harness.tasks import load_tasks  # noqa: E402
from harness.tracking import start_run  # noqa: E402
from tools.database import resolve  # noqa: E402
from tools.paths import sub_dir  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
PROGRAMS = ("uncompiled", "bootstrap", "random-search", "mipro", "gepa")
GEPA_STATE = sub_dir("optimize-bench")  # GEPA's state: a killed gepa run resumes from it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PROGRAMS), help="programs to run, by name")
    parser.add_argument("--prompt-model", default="qwen2.5-coder-1.5b",
                        help="mipro/gepa prompt model: catalogue name or folder, in-process")
    parser.add_argument("--train-limit", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=0, help="pipeline revise rounds")
    parser.add_argument("--backend", default="local", choices=("local", "server"))
    parser.add_argument("--threads", type=int, default=1, help="tasks at once (server)")
    parser.add_argument("--candidates", type=int, default=2,
                        help="random-search programs; mipro candidates per module")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--limit", type=int, default=None,
                        help="first N dev and test tasks only: a smoke run, written to "
                             "optimize_smoke.json")
    parser.add_argument("--no-adapter", action="store_true", help="skip the adapter's runs")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    if set(names) - set(PROGRAMS):
        parser.error(f"unknown programs {sorted(set(names) - set(PROGRAMS))}")

    tasks = load_tasks(TASKS)
    train = [t for t in tasks if t.split == "train"][: args.train_limit]
    dev = [t for t in tasks if t.split == "dev"][: args.limit]
    test = to_examples([t for t in tasks if t.split == "test"][: args.limit], "test",
                       scoring_only=True)
    db = resolve(None)
    adapter = None if args.no_adapter else registered(db.name)
    stem = "optimize" if args.limit is None else "optimize_smoke"  # a smoke run stays apart
    out = RESULTS / stem
    out.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stem}.json"
    setup = {"model": DEFAULT_MODEL, "backend": args.backend, "n_test": len(test),
             "n_train": len(train), "n_dev": len(dev), "rounds": args.rounds,
             "max_tokens": args.max_tokens, "prompt_model": args.prompt_model}
    old = json.loads(path.read_text()) if path.exists() and not args.fresh else {}
    if args.fresh:
        shutil.rmtree(GEPA_STATE, ignore_errors=True)
    same = all(old.get(k) == v for k, v in setup.items())
    figures = {**(old if same else {}), **setup, "adapter": str(adapter) if adapter else None}
    prompt_lm = None
    if {"mipro", "gepa"} & set(names):
        prompt_lm = make_lm(prompt_config(args.prompt_model, None))

    with ExitStack() as stack:
        api_base = _server(stack, args) if args.backend == "server" else None
        for use_adapter in ([False, True] if adapter else [False]):
            suffix = "_adapter" if use_adapter else ""
            lm = LMConfig(backend=args.backend, api_base=api_base, max_tokens=args.max_tokens,
                          cache=False, timeout=600, adapter=str(adapter) if use_adapter else None)
            task_lm = make_lm(lm)  # one model load for every program of this pass
            agent = build_agent(db, lm, AgentConfig(rounds=args.rounds), lm=task_lm,
                                program="none")
            judge = Judge(agent.sandbox)
            for name in names:
                key = name + suffix
                if f"{key}_ex" in figures:
                    print(f"== {key}: done earlier ({figures[f'{key}_ex']:.3f}), skipped")
                    continue
                print(f"\n== {key}")
                figures.update(_run(name, key, agent, task_lm, prompt_lm, train, dev, test,
                                    judge, args, db, lm, out))
                path.write_text(json.dumps(figures, indent=2) + "\n")
    _report(figures, args, stem)


def _run(name, key, agent, task_lm, prompt_lm, train, dev, test, judge, args, db, lm,
         out) -> dict:
    """Optimize (unless uncompiled), score dev, reload and score dev again, score test."""
    metric = ex_metric(agent, judge)
    if name == "uncompiled":
        dev_ex = score(agent, to_examples(dev, "dev"), metric, args.threads)
        return {f"{key}_dev_ex": dev_ex, f"{key}_ex": score(agent, test, metric, args.threads)}
    config = OptimizeConfig(optimizer=name, candidates=args.candidates, threads=args.threads,
                            log_dir=str(GEPA_STATE / key) if name == "gepa" else None)
    run = start_run("optimize-bench", {"program": key, **config.__dict__})
    started = time.perf_counter()
    try:
        compiled, report = optimize(agent, train, dev, config, judge, prompt_lm, tracker=run)
    finally:
        run.finish()
    seconds = round(time.perf_counter() - started, 1)
    saved = save_program(compiled, out / f"{key}.json", report)
    fresh = build_agent(db, lm, AgentConfig(rounds=args.rounds), lm=task_lm, program="none")
    reloaded = score(load_program(fresh, saved), to_examples(dev, "dev"),
                     ex_metric(fresh, judge), args.threads)
    return {f"{key}_ex": score(compiled, test, metric, args.threads),
            f"{key}_s": seconds, f"{key}_dev_ex": report["dev_ex"],
            f"{key}_dev_ex_before": report["dev_ex_before"],
            f"{key}_reloaded_dev_ex": reloaded, f"{key}_demos": report["demos"]}


def _server(stack: ExitStack, args: argparse.Namespace) -> str:
    from serving.env import VllmEnv
    from serving.server import ServeConfig, VllmServer

    server = stack.enter_context(VllmServer(ServeConfig(port=args.port), VllmEnv().ensure()))
    print(f"vLLM at {server.api_base} (log: {server.log_path})")
    return server.api_base


def _report(figures: dict, args: argparse.Namespace, stem: str) -> None:
    rows = [(name + suffix, figures[f"{name}{suffix}_ex"], figures.get(f"{name}{suffix}_dev_ex"),
             figures.get(f"{name}{suffix}_reloaded_dev_ex"), figures.get(f"{name}{suffix}_s", 0))
            for suffix in ("", "_adapter") for name in PROGRAMS
            if f"{name}{suffix}_ex" in figures]
    table = Table(title=f"EX, demo database ({figures['n_test']} test, {figures['n_dev']} dev "
                        f"tasks), rounds={args.rounds}, prompt model {args.prompt_model}")
    for col in ("program", "test EX", "dev EX", "reloaded dev EX", "optimize s"):
        table.add_column(col)
    for name, ex, dev_ex, reloaded, seconds in rows:
        table.add_row(name, f"{ex:.3f}", "" if dev_ex is None else f"{dev_ex:.3f}",
                      "" if reloaded is None else f"{reloaded:.3f}", f"{seconds:.0f}")
    Console().print(table)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r[2] or 0 for r in rows], 0.4, label="dev")
    ax.bar([i + 0.2 for i in x], [r[1] for r in rows], 0.4, label="test")
    ax.set_xticks(list(x), [r[0] for r in rows], rotation=20, ha="right")
    ax.set_ylabel("EX")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=120)


if __name__ == "__main__":
    main()
