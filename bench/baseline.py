"""Baseline on the demo task set's test split: the bundled model (a) zero-shot, single pass, and
(b) through the full pipeline (docs, revise rounds, voted candidates), side by side, in one run.

    .venv/bin/python bench/baseline.py [--limit N] [--max-tokens 160] [--adapter PATH]
                                       [--vllm [--workers 8]]

With --vllm the model is served by a vLLM server this script starts, `--workers` tasks at a
time (vLLM batches them); latency is then per task under that load.

Prints EX, comp@1, exec@1 and p50 latency for both; writes bench/results/baseline.json (keys
`zero_shot` and `pipeline`), per-run results and reports under bench/results/baseline/, and a
plot bench/results/baseline.png.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.evaluate import summarize  # noqa: E402
from agents.lm import LMConfig, make_lm  # noqa: E402
from agents.report import write_report  # noqa: E402
from agents.synth import SynthConfig, synthesize  # noqa: E402
from agents.synth_cli import run_meta  # noqa: E402
from agents.tasks import load_tasks  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from agents.tracking import start_run  # noqa: E402
from serving.env import VllmEnv  # noqa: E402
from serving.server import ServeConfig, VllmServer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
RUNS = {
    "zero_shot": AgentConfig(rounds=0, candidates=1, docs_k=0),
    "pipeline": AgentConfig(rounds=2, candidates=3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N test tasks only")
    parser.add_argument("--max-tokens", type=int, default=160,
                        help="per reply; the gold programs' p95 is 123 tokens")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder")
    parser.add_argument("--vllm", action="store_true", help="serve the model with vLLM")
    parser.add_argument("--workers", type=int, default=8, help="with --vllm: tasks at once")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()

    if not args.vllm:
        run(args, LMConfig(max_tokens=args.max_tokens, adapter=args.adapter, cache=False), 1)
        return
    server = VllmServer(ServeConfig(port=args.port), VllmEnv().ensure())
    print(f"starting vLLM (log: {server.log_path})")
    with server:
        run(args, LMConfig(backend="server", api_base=server.api_base, timeout=600,
                           max_tokens=args.max_tokens, adapter=args.adapter,
                           cache=False), args.workers)


def run(args: argparse.Namespace, lm_config: LMConfig, workers: int) -> None:
    tasks = load_tasks(TASKS, splits="test")[: args.limit]
    lm_config = lm_config.validate()
    lm = make_lm(lm_config)
    out_dir = RESULTS / "baseline"
    shutil.rmtree(out_dir, ignore_errors=True)  # a fresh run, not a resume
    store = TraceStore()
    figures = {}
    for name, agent_config in RUNS.items():
        print(f"\n== {name}: {len(tasks)} test tasks")
        meta = run_meta(TASKS, lm_config, agent_config, SynthConfig(workers=workers), "test",
                        args.limit)
        tracker = start_run("baseline", meta, name=f"baseline-{name}")
        results = synthesize(tasks, out_dir / f"{name}.jsonl", lm, lm_config, agent_config,
                             SynthConfig(workers=workers), tracker, store, program="none")
        summary = {**summarize(results), "run": meta}
        write_report(summary, results, out_dir / name)
        overall = summary["overall"]
        figures[name] = {"ex": overall["ex"], "comp_at_1": overall["comp@1"],
                         "exec_at_1": overall["exec@1"], "p50_s": overall["seconds_p50"],
                         "n": overall["tasks"]}
        tracker.summary(figures[name])
        tracker.finish()

    table = Table(title=f"baseline on the test split ({lm_config.model}"
                        f"{'+' + Path(args.adapter).name if args.adapter else ''})")
    for col in ("run", "EX", "comp@1", "exec@1", "p50 s", "n"):
        table.add_column(col)
    for name, f in figures.items():
        table.add_row(name, f"{f['ex']:.3f}", f"{f['comp_at_1']:.3f}", f"{f['exec_at_1']:.3f}",
                      f"{f['p50_s']:.1f}", str(f["n"]))
    Console().print(table)
    (RESULTS / "baseline.json").write_text(json.dumps(
        {**figures, "model": lm_config.model, "adapter": args.adapter,
         "backend": "vllm" if args.vllm else "in-process", "workers": workers,
         "max_tokens": args.max_tokens}, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(6, 4))
    metrics = ("ex", "comp_at_1", "exec_at_1")
    for i, name in enumerate(figures):
        ax.bar([m + i * 0.4 for m in range(len(metrics))], [figures[name][m] for m in metrics],
               width=0.4, label=name)
    ax.set_xticks([m + 0.2 for m in range(len(metrics))], ["EX", "comp@1", "exec@1"])
    ax.set_ylim(0, 1)
    ax.set_title("test split, bundled model")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "baseline.png", dpi=120)


if __name__ == "__main__":
    main()
