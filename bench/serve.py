"""Throughput of the in-process backend vs the vLLM server on the same 40 tasks, same model and
adapter, in one run.

    .venv/bin/python bench/serve.py [--workers N] [--max-tokens 160] [--adapter PATH] [--port N]

The adapter defaults to the demo database's registered one (run bench/learn.py first), else
none. The in-process backend answers one task at a time (one model, two cores); the server gets
`--workers` tasks at once so vLLM batches them, in two modes when there is an adapter: `vllm`
(the base with the adapter on vLLM's LoRA path) and `vllm_merged` (the adapter merged into the
base, `devstarl serve --merged`). Prints tasks/min, tokens/s and p50 latency side by side;
writes bench/results/serve.json (`throughput_ratio`: the best server mode over in-process, and
`runs.<mode>`) and bench/results/serve.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, make_lm  # noqa: E402
from agents.registry import registered  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from devstarl.serve import merged_config  # noqa: E402
from harness.evaluate import summarize  # noqa: E402
from harness.synth import SynthConfig, synthesize  # noqa: E402
from harness.tasks import load_tasks  # noqa: E402
from serving.env import VllmEnv, default_batch  # noqa: E402
from serving.server import ServeConfig, VllmServer  # noqa: E402
from tools.database import resolve  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "reference.jsonl"
AGENT = AgentConfig.for_model(DEFAULT_MODEL)  # the default pipeline, as ask runs it


def run(name: str, tasks, lm_config: LMConfig, workers: int, out: Path) -> dict:
    print(f"\n== {name}: {len(tasks)} tasks, {workers} at a time")
    started = time.perf_counter()
    results = synthesize(tasks, out / f"{name}.jsonl", make_lm(lm_config), lm_config, AGENT,
                         SynthConfig(workers=workers), store=TraceStore(out / "traces.db"),
                         program="none")
    wall = time.perf_counter() - started
    overall = summarize(results)["overall"]
    tokens = sum(s.tokens for r in results for s in r.samples)
    return {"tasks_per_min": round(len(results) / wall * 60, 2),
            "tokens_per_s": round(tokens / wall, 1), "p50_s": overall["seconds_p50"],
            "ex": overall["ex"], "wall_s": round(wall, 1), "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None,
                        help="tasks in flight against the server (default: its batch, as synth)")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--adapter", default=None, help="adapter folder (default: registered)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()

    tasks = load_tasks(TASKS)[: args.limit]
    adapter = Path(args.adapter) if args.adapter else registered(resolve(None).name)
    # No response cache: the second server mode would be answered from the first one's.
    local = LMConfig(max_tokens=args.max_tokens, adapter=str(adapter) if adapter else None,
                     cache=False)
    out = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    figures = {"inprocess": run("inprocess", tasks, local, 1, out)}

    env = VllmEnv().ensure()
    args.workers = args.workers or default_batch(env.gpu)
    modes = {"vllm": ServeConfig(port=args.port)}  # the base, the adapter over its LoRA path
    if adapter:  # the adapter merged into the base, served without a LoRA path
        modes["vllm_merged"] = merged_config(str(adapter), ServeConfig.base, port=args.port)
    for mode, config in modes.items():
        server = VllmServer(config, env)
        print(f"\nstarting vLLM, {mode} (log: {server.log_path})")
        t0 = time.perf_counter()
        with server:
            ready_s = time.perf_counter() - t0
            remote = LMConfig(backend="server", api_base=server.api_base,
                              max_tokens=args.max_tokens, timeout=600, cache=False,
                              adapter=str(adapter) if adapter else None)
            figures[mode] = run(mode, tasks, remote, args.workers, out)
        figures[mode]["ready_s"] = round(ready_s, 1)

    a = figures["inprocess"]
    best = max((m for m in figures if m != "inprocess"), key=lambda m: figures[m]["tasks_per_min"])
    b = figures["vllm"]
    summary = {"n": len(tasks), "inprocess_tasks_per_min": a["tasks_per_min"],
               "vllm_tasks_per_min": b["tasks_per_min"], "best_server_mode": best,
               # the best server mode over in-process
               "throughput_ratio": round(figures[best]["tasks_per_min"] / a["tasks_per_min"], 2),
               "inprocess_p50_s": a["p50_s"], "vllm_p50_s": b["p50_s"],
               "inprocess_tokens_per_s": a["tokens_per_s"], "vllm_tokens_per_s": b["tokens_per_s"],
               "workers": args.workers, "max_tokens": args.max_tokens,
               "adapter": str(adapter) if adapter else None, "runs": figures}

    table = Table(title=f"{len(tasks)} tasks, adapter {adapter.name if adapter else 'none'}")
    for col in ("backend", "tasks/min", "tokens/s", "p50 s", "EX", "wall s"):
        table.add_column(col)
    for name, f in figures.items():
        table.add_row(name, f"{f['tasks_per_min']:.2f}", f"{f['tokens_per_s']:.1f}",
                      f"{f['p50_s']:.1f}", f"{f['ex']:.3f}", f"{f['wall_s']:.0f}")
    Console().print(table)
    print(f"throughput ratio ({best} / in-process): {summary['throughput_ratio']:.2f}x")
    (RESULTS / "serve.json").write_text(json.dumps(summary, indent=2) + "\n")

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
    names = list(figures)
    colors = ["#888", "#3a7", "#37a"][: len(names)]
    axes[0].bar(names, [figures[n]["tasks_per_min"] for n in names], color=colors)
    axes[0].set_title("tasks / min")
    axes[1].bar(names, [figures[n]["p50_s"] for n in names], color=colors)
    axes[1].set_title("p50 latency (s)")
    fig.tight_layout()
    fig.savefig(RESULTS / "serve.png", dpi=120)


if __name__ == "__main__":
    main()
