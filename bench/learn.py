"""One turn of the learning loop on the demo database, in one run: bootstrap, fine-tune, then EX of
the base model vs the new adapter on (a) held-out bootstrapped tasks never trained on and
(b) the hand-written test split.

    .venv/bin/python bench/learn.py [--n 300] [--epochs 2] [--max-examples 160]

Prints a table; writes bench/results/learn.json and bench/results/learn.png. The adapter is
registered for the demo database when it beats the current one, as `devstarl learn` does.
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
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finetune.learn import LearnConfig, heldout_ex, learn  # noqa: E402
from harness.tasks import Task, load_tasks  # noqa: E402
from harness.tracking import start_run  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-examples", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = LearnConfig(n=args.n, max_examples=args.max_examples, seed=args.seed,
                         train=replace(LearnConfig().train, epochs=args.epochs, seed=args.seed))
    tracker = start_run("learn-bench", {"n": args.n, "epochs": args.epochs,
                                        "max_examples": args.max_examples, "seed": args.seed})
    started = time.perf_counter()
    report = learn("demo", config, tracker)
    adapter = Path(report["adapter"])
    heldout = [Task.from_dict(t) for t in report["heldout"]]
    base_heldout = (report["previous_heldout_ex"] if not _had_previous(adapter)
                    else heldout_ex(heldout, None, config))
    test = load_tasks(ROOT / "bench/tasks/nycflights13.jsonl", splits="test")
    print(f"scoring the test split ({len(test)} tasks): base, then adapter")
    base_test = heldout_ex(test, None, config)
    adapter_test = heldout_ex(test, adapter, config)
    total_s = time.perf_counter() - started

    figures = {
        "n_bootstrapped": report["n_bootstrapped"],
        "bootstrap_s": report["bootstrap_s"],
        "finetune_s": report["finetune_s"],
        "total_s": round(total_s, 1),
        "base_ex_heldout": base_heldout,
        "adapter_ex_heldout": report["adapter_heldout_ex"],
        "base_ex_test": base_test,
        "adapter_ex_test": adapter_test,
        "heldout_n": report["heldout_n"],
        "test_n": len(test),
        "examples": report["examples"],
        "steps": report["training"]["steps"],
        "train_tokens_per_s": report["training"]["tokens_per_s"],
        "adapter": report["adapter"],
        "registered": report["registered"],
    }
    tracker.summary({k: v for k, v in figures.items() if isinstance(v, int | float)})
    tracker.finish()

    table = Table(title="learning loop on the demo database (EX, one pass per task)")
    for col in ("tasks", "n", "base", "adapter", "gain (points)"):
        table.add_column(col)
    for name, n, base, tuned in (("held-out bootstrapped", report["heldout_n"], base_heldout,
                                  report["adapter_heldout_ex"]),
                                 ("hand-written test split", len(test), base_test, adapter_test)):
        table.add_row(name, str(n), f"{base:.3f}", f"{tuned:.3f}", f"{100 * (tuned - base):+.1f}")
    Console().print(table)
    print(f"bootstrap {report['n_bootstrapped']} tasks in {report['bootstrap_s']} s; fine-tune "
          f"{report['examples']} examples, {report['training']['steps']} steps in "
          f"{report['finetune_s']} s ({report['training']['tokens_per_s']} tok/s); "
          f"whole turn {report['total_s']} s; with the test split {total_s:.0f} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "learn.json").write_text(json.dumps(figures, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = ["held-out bootstrapped", "test split"]
    ax.bar([0, 1], [base_heldout, base_test], width=0.4, label="base")
    ax.bar([0.4, 1.4], [report["adapter_heldout_ex"], adapter_test], width=0.4, label="adapter")
    ax.set_xticks([0.2, 1.2], groups)
    ax.set_ylim(0, 1)
    ax.set_ylabel("EX")
    ax.set_title("demo database: base model vs learned adapter")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "learn.png", dpi=120)


def _had_previous(adapter: Path) -> bool:
    card = json.loads((adapter / "adapter_card.json").read_text())
    return card["eval"]["previous"] != "base"


if __name__ == "__main__":
    main()
