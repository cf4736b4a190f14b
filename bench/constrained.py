"""Constrained vs unconstrained decoding on the demo task set's test split, one model, side by
side in one run: zero-shot (schema only, one reply) and the full pipeline, each with programs
decoded within the database's grammar (`agents.grammar`) and without.

    .venv/bin/python bench/constrained.py [--model qwen2.5-coder-0.5b] [--stride K] [--limit N]
                                          [--only zero_shot.off,...,pipeline.retry] [--split dev]
                                          [--resume]

Prints comp@1, exec@1, EX and p50 seconds per run, the mask's cost per decoded token, and how
many final programs use a name outside the grammar (constrained runs must have none; a program
cut at max_tokens counts as incomplete instead); writes
bench/results/constrained.json (`zero_shot.{on,off}.ex`, `pipeline.{on,off}.ex`,
`mask_overhead_ms_per_token`, ...; `--split dev`: constrained_dev.json), per-run results under
bench/results/constrained/, and a plot bench/results/constrained.png. A run of some (`--only`)
keeps the others measured on the same model and tasks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from figures import print_runs  # noqa: E402 - bench/figures.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.grammar import accepts, program_grammar  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, choose_runtime, local_engine, make_lm  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from harness.evaluate import summarize  # noqa: E402
from harness.synth import SynthConfig, synthesize  # noqa: E402
from harness.tasks import load_tasks, resolve_db  # noqa: E402
from harness.tracking import run_meta, start_run  # noqa: E402
from tools.schema import inspect  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
ZERO_SHOT = AgentConfig(rounds=0, candidates=1, docs_k=0, examples=False)
RUN_NAMES = ("zero_shot.off", "zero_shot.on", "pipeline.off", "pipeline.on", "pipeline.retry")


def runs(model: str) -> dict[str, AgentConfig]:
    """Each run's settings; the pipeline's are `ask`'s for `model` (its revise rounds).
    `pipeline.retry` decodes freely and, when no draft works, once more within the grammar."""
    pipeline = AgentConfig.for_model(model)
    return {
        "zero_shot.off": ZERO_SHOT,
        "zero_shot.on": replace(ZERO_SHOT, constrain=True),
        "pipeline.off": pipeline,
        "pipeline.on": replace(pipeline, constrain=True),
        "pipeline.retry": replace(pipeline, constrain_retry=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a catalogue name or folder")
    parser.add_argument("--limit", type=int, default=None, help="first N tasks only")
    parser.add_argument("--stride", type=int, default=1,
                        help="every K-th task only (keeps the difficulty mix)")
    parser.add_argument("--only", default=",".join(RUN_NAMES), help="runs to do, by name")
    parser.add_argument("--split", default="test", choices=("test", "dev"))
    parser.add_argument("--resume", action="store_true",
                        help="go on from the tasks an interrupted run already wrote")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(RUN_NAMES)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}; known: {', '.join(RUN_NAMES)}")

    tasks = load_tasks(TASKS, splits=args.split)[:: args.stride][: args.limit]
    grammar = program_grammar(inspect(resolve_db(tasks[0].db)))
    lm_config = LMConfig(model=args.model, cache=False).validate()
    lm = make_lm(lm_config)
    engine = local_engine(lm)
    stem = "constrained" if args.split == "test" else f"constrained_{args.split}"
    out_dir = RESULTS / stem
    out_dir.mkdir(parents=True, exist_ok=True)
    setup = {"model": lm_config.model, "runtime": choose_runtime(lm_config),
             "split": args.split, "stride": args.stride, "limit": args.limit,
             "tasks": [t.id for t in tasks]}
    path = RESULTS / f"{stem}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    same = all(old.get(k) == v for k, v in setup.items())
    figures = old.get("runs", {}) if same else {}
    mask = old.get("mask", {"tokens": 0, "seconds": 0.0}) if same else {"tokens": 0, "seconds": 0.0}
    store = TraceStore()
    for name in names:
        config = runs(lm_config.model)[name]
        print(f"\n== {name}: {len(tasks)} {args.split} tasks")
        if not args.resume:  # a fresh run; synthesize skips the task ids already written
            for stale in out_dir.glob(f"{name}.jsonl*"):
                stale.unlink()
        before = (engine.mask_stats.tokens, engine.mask_stats.seconds)
        meta = run_meta(TASKS, lm_config, config, SynthConfig(), args.split, args.limit)
        tracker = start_run("constrained", meta, name=f"constrained-{name}")
        results = synthesize(tasks, out_dir / f"{name}.jsonl", lm, lm_config, config,
                             SynthConfig(), tracker, store, program="none")
        overall = summarize(results)["overall"]
        codes = [r.samples[0].code for r in results if r.samples and r.samples[0].code]
        figures[name] = {
            "ex": overall["ex"], "comp_at_1": overall["comp@1"],
            "exec_at_1": overall["exec@1"], "p50_s": overall["seconds_p50"],
            "n": overall["tasks"],
            # a program cut at max_tokens is incomplete, not outside: count only those that
            # are not even the start of a program the grammar allows
            "outside_grammar": sum(not accepts(grammar, f"```python\n{c}", whole=False)
                                   for c in codes),
            "incomplete": sum(not accepts(grammar, f"```python\n{c}\n```") for c in codes),
            "ran_at": time.strftime("%Y-%m-%d %H:%M"),
        }
        if config.constrain or config.constrain_retry:
            mask["tokens"] += engine.mask_stats.tokens - before[0]
            mask["seconds"] += engine.mask_stats.seconds - before[1]
        tracker.summary(figures[name])
        tracker.finish()
        write(path, setup, figures, mask)  # after each run: an interrupted bench keeps it

    print_runs(f"constrained decoding on the {args.split} split ({lm_config.model})", "run",
               figures)
    overhead = write(path, setup, figures, mask)
    print(f"mask overhead: {overhead and round(overhead, 2)} ms per constrained token "
          f"({mask['tokens']} tokens)")
    plot(figures, args.split, lm_config.model, stem)


def write(path: Path, setup: dict, figures: dict, mask: dict) -> float | None:
    """The JSON: setup, `<run>.<on|off>` figures nested and flat, the mask's cost per token."""
    overhead = 1000 * mask["seconds"] / mask["tokens"] if mask["tokens"] else None
    nested: dict = {}
    for name, figs in figures.items():
        run, switch = name.split(".")
        nested.setdefault(run, {})[switch] = figs
    path.write_text(json.dumps({**setup, **nested, "runs": figures, "mask": mask,
                                "mask_overhead_ms_per_token": overhead}, indent=2) + "\n")
    return overhead


def plot(figures: dict, split: str, model: str, stem: str) -> None:
    metrics = ("ex", "comp_at_1", "exec_at_1")
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(figures))
    for i, (name, figs) in enumerate(figures.items()):
        ax.bar([m + i * width for m in range(len(metrics))], [figs[m] for m in metrics],
               width=width, label=name)
    ax.set_xticks([m + 0.4 - width / 2 for m in range(len(metrics))], ["EX", "comp@1", "exec@1"])
    ax.set_ylim(0, 1)
    ax.set_title(f"constrained decoding, demo {split} split ({model})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=120)


if __name__ == "__main__":
    main()
