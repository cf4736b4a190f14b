"""Baseline on the demo task set's test split, one model per run: (a) zero-shot and raw (schema
in the prompt, no docs, no examples, one reply, no revision) and (b) the full pipeline with its
default settings (docs, examples over the tables, revise rounds), side by side, in one run.

    .venv/bin/python bench/baseline.py [--model qwen2.5-coder-0.5b] [--limit N] [--stride K]
                                       [--max-tokens 256] [--adapter PATH] [--runtime auto]
                                       [--vllm [--workers 8]] [--resume]

With --vllm the model is served by a vLLM server this script starts, `--workers` tasks at a
time (vLLM batches them); latency is then per task under that load. With --resume a run goes
on from the tasks its results file already holds (same model and settings), so a long run can
span several invocations; without it every run starts fresh.

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
from figures import print_runs  # noqa: E402 - bench/figures.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, choose_runtime, make_lm  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from finetune.shots import ensure_shots  # noqa: E402
from harness.evaluate import summarize  # noqa: E402
from harness.report import write_report  # noqa: E402
from harness.synth import SynthConfig, synthesize  # noqa: E402
from harness.tasks import load_tasks, resolve_db  # noqa: E402
from harness.tracking import run_meta, start_run  # noqa: E402
from serving.env import VllmEnv  # noqa: E402
from serving.server import ServeConfig, VllmServer, base_name  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
RUNS = {
    "zero_shot": AgentConfig(rounds=0, candidates=1, docs_k=0, examples=False),
    "pipeline": AgentConfig(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="a catalogue name or a model folder")
    parser.add_argument("--limit", type=int, default=None, help="first N test tasks only")
    parser.add_argument("--stride", type=int, default=1,
                        help="every K-th test task only (a subset that keeps the difficulty mix; "
                             "the split is ordered easy to hard)")
    parser.add_argument("--max-tokens", type=int, default=LMConfig.max_tokens,
                        help="per reply; the gold programs' p95 is 123 tokens")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder")
    parser.add_argument("--runtime", default=LMConfig.runtime, help=LMConfig.help()["runtime"])
    parser.add_argument("--runs", default=",".join(RUNS),
                        help="which runs (zero_shot, pipeline); a run left out keeps its "
                             "figures from an earlier run on the same model and tasks")
    parser.add_argument("--vllm", action="store_true", help="serve the model with vLLM")
    parser.add_argument("--workers", type=int, default=8, help="with --vllm: tasks at once")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--resume", action="store_true",
                        help="go on from the tasks an earlier, interrupted run already wrote")
    args = parser.parse_args()
    unknown = set(args.runs.split(",")) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}; known: {', '.join(RUNS)}")

    if not args.vllm:
        run(args, LMConfig(model=args.model, max_tokens=args.max_tokens, adapter=args.adapter,
                           runtime=args.runtime, cache=False), 1)
        return
    server = VllmServer(ServeConfig(base=args.model, port=args.port), VllmEnv().ensure())
    print(f"starting vLLM (log: {server.log_path})")
    with server:
        run(args, LMConfig(backend="server", model=base_name(args.model),
                           api_base=server.api_base, timeout=600,
                           max_tokens=args.max_tokens, adapter=args.adapter,
                           cache=False), args.workers)


def run(args: argparse.Namespace, lm_config: LMConfig, workers: int) -> None:
    tasks = load_tasks(TASKS, splits="test")[:: args.stride][: args.limit]
    if any(RUNS[name].shots_k for name in args.runs.split(",")):
        ensure_shots(resolve_db(tasks[0].db))  # the demo's bank of verified examples
    lm_config = lm_config.validate()
    lm = make_lm(lm_config)
    out_dir = RESULTS / "baseline" / Path(args.model).name
    path = RESULTS / "baseline.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    models = old.get("models", {}) if isinstance(old.get("models"), dict) else {}
    setup = {"adapter": args.adapter, "backend": "vllm" if args.vllm else "in-process",
             "workers": workers, "max_tokens": args.max_tokens,
             "dtype": lm_config.resolved_dtype(),
             "runtime": None if args.vllm else choose_runtime(lm_config),
             "n": len(tasks), "split": "test", "stride": args.stride, "limit": args.limit}
    earlier = models.get(Path(args.model).name, {})
    same = all(earlier.get(k) == v for k, v in setup.items())
    figures = {name: earlier[name] for name in RUNS if same and name in earlier}
    store = TraceStore()
    for name in args.runs.split(","):
        agent_config = RUNS[name]
        print(f"\n== {name}: {len(tasks)} test tasks")
        if not args.resume:  # a fresh run; synthesize skips the task ids already written
            for stale in out_dir.glob(f"{name}.jsonl*"):
                stale.unlink()
            shutil.rmtree(out_dir / name, ignore_errors=True)
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

    print_runs(f"baseline on the test split ({lm_config.model}"
               f"{'+' + Path(args.adapter).name if args.adapter else ''})", "run", figures)
    models[Path(args.model).name] = {**figures, **setup}
    path.write_text(json.dumps({"models": models}, indent=2) + "\n")
    plot(models)


def plot(models: dict) -> None:
    runs = ("zero_shot", "pipeline")
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(models) * len(runs))
    for i, (name, figs) in enumerate(models.items()):
        for j, run_name in enumerate(runs):
            k = i * len(runs) + j
            ax.bar([m + k * width for m in range(3)],
                   [figs[run_name][m] for m in ("ex", "comp_at_1", "exec_at_1")],
                   width=width, label=f"{name} {run_name} (n={figs[run_name]['n']})")
    ax.set_xticks([m + 0.4 - width / 2 for m in range(3)], ["EX", "comp@1", "exec@1"])
    ax.set_ylim(0, 1)
    ax.set_title("demo test split: zero-shot vs pipeline")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "baseline.png", dpi=120)


if __name__ == "__main__":
    main()
