"""One turn of the learning loop on the demo database, in one run: bootstrap, fine-tune, then EX of
the base model vs the new adapter on (a) held-out bootstrapped tasks never trained on and
(b) the hand-written test split.

    .venv/bin/python bench/learn.py [--preference [--drafts K] [--preference-seconds S]]
                                    [--n N] [--train-seconds S] ...

Defaults are `devstarl learn`'s. With --preference the turn adds the DPO step, and the test
split is scored with the SFT adapter and the DPO adapter (when one was made) apart
(`sft_ex_test`, `preference_ex_test`); `adapter_ex_test` is the turn's kept adapter. Prints a
table; writes bench/results/learn.json and bench/results/learn.png. The adapter is registered
for the demo database when it beats the current one, as `devstarl learn` does.
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

from agents.lm.llamacpp import choose_runtime  # noqa: E402
from finetune.learn import LearnConfig, eval_lm_config, heldout_ex, learn  # noqa: E402
from harness.tasks import Task, load_tasks  # noqa: E402
from harness.tracking import start_run  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = LearnConfig()
    parser.add_argument("--n", type=int, default=defaults.n)
    parser.add_argument("--epochs", type=int, default=defaults.train.epochs)
    parser.add_argument("--max-examples", type=int, default=defaults.max_examples)
    parser.add_argument("--train-seconds", type=float, default=defaults.train.max_seconds)
    parser.add_argument("--top-layers", type=int, default=defaults.train.top_layers)
    parser.add_argument("--preference", action="store_true")
    parser.add_argument("--drafts", type=int, default=defaults.prefer.drafts)
    parser.add_argument("--preference-seconds", type=float,
                        default=defaults.prefer.max_seconds)
    parser.add_argument("--base", default=defaults.train.base)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = LearnConfig(n=args.n, max_examples=args.max_examples, seed=args.seed,
                         preference=args.preference,
                         prefer=replace(defaults.prefer, drafts=args.drafts, seed=args.seed,
                                        max_seconds=args.preference_seconds),
                         train=replace(defaults.train, epochs=args.epochs, seed=args.seed,
                                       max_seconds=args.train_seconds, base=args.base,
                                       top_layers=args.top_layers))
    tracker = start_run("learn-bench", vars(args))
    started = time.perf_counter()
    report = learn("demo", config, tracker)
    adapter, sft = Path(report["adapter"]), Path(report["sft_adapter"])
    heldout = [Task.from_dict(t) for t in report["heldout"]]
    base_heldout = (report["previous_heldout_ex"] if not _had_previous(adapter)
                    else heldout_ex(heldout, None, config))
    test = load_tasks(ROOT / "bench/tasks/nycflights13.jsonl", splits="test")
    dpo = report["preference_adapter"]
    print(f"scoring the test split ({len(test)} tasks): base, SFT adapter"
          f"{', DPO adapter' if dpo else ''}")
    base_test = heldout_ex(test, None, config, progress=True)
    sft_test = heldout_ex(test, sft, config, progress=True)
    dpo_test = heldout_ex(test, Path(dpo), config, progress=True) if dpo else None
    adapter_test = dpo_test if adapter != sft else sft_test
    total_s = time.perf_counter() - started

    figures = {
        "model": config.train.base,
        "runtime": choose_runtime(eval_lm_config(sft, config)),
        "n_bootstrapped": report["n_bootstrapped"],
        "bootstrap_s": report["bootstrap_s"],
        "finetune_s": report["finetune_s"],
        "total_s": round(total_s, 1),
        "base_ex_heldout": base_heldout,
        "adapter_ex_heldout": report["adapter_heldout_ex"],
        "base_ex_test": base_test,
        "adapter_ex_test": adapter_test,
        "sft_ex_test": sft_test,
        "preference_ex_test": dpo_test,
        "sft_ex_heldout": report["sft_heldout_ex"],
        "preference_ex_heldout": report["preference_heldout_ex"],
        "preference_kept": report["preference_kept"],
        "pairs": report["pairs"],
        "turn_s": report["total_s"],
        "phase_s": report["phase_s"],
        "heldout_n": report["heldout_n"],
        "test_n": len(test),
        "examples": report["examples"],
        "steps": report["training"]["steps"],
        "train_tokens_per_s": report["training"]["tokens_per_s"],
        "train_stopped": report["training"]["stopped"], "top_layers": args.top_layers,
        "adapter": report["adapter"],
        "registered": report["registered"],
    }
    tracker.summary({k: v for k, v in figures.items() if isinstance(v, int | float)})
    tracker.finish()

    rows = [("held-out bootstrapped", report["heldout_n"], base_heldout,
             report["sft_heldout_ex"], report["preference_heldout_ex"]),
            ("hand-written test split", len(test), base_test, sft_test, dpo_test)]
    table = Table(title=f"learning loop on the demo database, {config.train.base} "
                        "(EX, one pass per task)")
    for col in ("tasks", "n", "base", "SFT", "SFT+DPO", "kept - base (points)"):
        table.add_column(col)
    for (name, n, base, tuned, pref), kept in zip(
            rows, (report["adapter_heldout_ex"], adapter_test), strict=True):
        table.add_row(name, str(n), f"{base:.3f}", f"{tuned:.3f}",
                      "-" if pref is None else f"{pref:.3f}", f"{100 * (kept - base):+.1f}")
    Console().print(table)
    print(f"bootstrap {report['n_bootstrapped']} tasks in {report['bootstrap_s']} s; fine-tune "
          f"{report['examples']} examples, {report['training']['steps']} steps in "
          f"{report['finetune_s']} s ({report['training']['tokens_per_s']} tok/s, stopped: "
          f"{report['training']['stopped'] or 'all epochs'}); phases {report['phase_s']}; "
          f"whole turn {report['total_s']} s; with the test split {total_s:.0f} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "learn.json").write_text(json.dumps(figures, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(7, 4))
    kinds = [("base", 2), ("SFT", 3), ("SFT+DPO", 4)]
    for i, (label, col) in enumerate(kinds):
        values = [row[col] for row in rows]
        if all(v is None for v in values):
            continue
        ax.bar([g + 0.27 * i for g in range(len(rows))], [v or 0 for v in values], width=0.27,
               label=label)
    ax.set_xticks([g + 0.27 for g in range(len(rows))], [row[0] for row in rows])
    ax.set_ylim(0, 1)
    ax.set_ylabel("EX")
    ax.set_title(f"demo database: base vs learned adapters ({config.train.base})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "learn.png", dpi=120)


def _had_previous(adapter: Path) -> bool:
    card = json.loads((adapter / "adapter_card.json").read_text())
    return card["eval"]["previous"] != "base"


if __name__ == "__main__":
    main()
