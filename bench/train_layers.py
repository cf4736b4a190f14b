"""LoRA training speed over all decoder layers vs the last K only, side by side in one run, with
the real training code (`finetune.train.train`) on real prompts: the demo database's
hand-written training tasks, prompted as a learning turn prompts them.

    .venv/bin/python bench/train_layers.py [--model qwen2.5-coder-0.5b] [--top 8,12]
                                           [--examples 12]

Each setting trains a fresh adapter over the same examples (one epoch, batches of 4, nothing
held out) and reads its card's steps, seconds and tokens (prompt and reply). Prints a table; writes
bench/results/train_layers.json (`settings.<name>.{s_per_step, tokens_per_s}`,
`speedup_vs_all`) and train_layers.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.lm import DEFAULT_MODEL  # noqa: E402
from finetune.data import TASK_SETS, task_examples  # noqa: E402
from finetune.learn import EVAL_AGENT, LearnConfig  # noqa: E402
from finetune.train import train  # noqa: E402
from harness.tasks import load_tasks, split_of  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--top", default="8,12", help="K values to compare with all layers")
    parser.add_argument("--examples", type=int, default=12)
    args = parser.parse_args()

    tasks = split_of(load_tasks(TASK_SETS / "nycflights13.jsonl"), "train")
    examples = task_examples(tasks, EVAL_AGENT)[: args.examples]
    base = LearnConfig().train
    settings = {"all layers": 0} | {f"last {k}": int(k) for k in args.top.split(",")}
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, k in settings.items():
            config = replace(base, base=args.model, epochs=1, dev_fraction=0.0,
                             max_seconds=0.0, top_layers=k)
            card = train(examples, Path(tmp) / f"k{k}", config)
            stats = card["training"]
            figures[name] = {"top_layers": k, "steps": stats["steps"],
                             "s_per_step": round(stats["seconds"] / stats["steps"], 2),
                             "tokens_per_s": stats["tokens_per_s"]}
    full = figures["all layers"]["s_per_step"]
    for f in figures.values():
        f["speedup_vs_all"] = round(full / f["s_per_step"], 2)

    table = Table(title=f"LoRA training, {args.model}, {len(examples)} demo prompts, batches of "
                        f"{base.batch_size}")
    for col in ("setting", "steps", "s/step", "tokens/s", "speed-up"):
        table.add_column(col)
    for name, f in figures.items():
        table.add_row(name, str(f["steps"]), str(f["s_per_step"]), str(f["tokens_per_s"]),
                      f"{f['speedup_vs_all']}x")
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train_layers.json").write_text(json.dumps(
        {"model": args.model, "examples": len(examples), "batch_size": base.batch_size,
         "settings": figures}, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(figures), [f["s_per_step"] for f in figures.values()])
    ax.set_ylabel("seconds per step")
    ax.set_title("LoRA step time by trained layers")
    fig.tight_layout()
    fig.savefig(RESULTS / "train_layers.png", dpi=120)


if __name__ == "__main__":
    main()
