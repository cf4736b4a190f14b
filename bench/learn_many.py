"""One learning turn on each of several sample databases: held-out EX of the base model vs the
turn's adapter per database, and the time of each turn.

    .venv/bin/python bench/learn_many.py [--dbs a,b,...] [--resume] [turn settings]

Turn settings default to `devstarl learn`'s. Each database's figures are written to
bench/results/learn_many/<db>.json as its turn ends, and `--resume` skips those already there,
so a stopped run goes on. Prints a table; writes bench/results/learn_many.json (`per_db[]`
with `base_ex` and `adapter_ex`, `total_s`) and learn_many.png. An adapter that wins is
registered for its database, as `devstarl learn` does.
"""

from __future__ import annotations

import argparse
import json
import sys
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
from harness.tasks import Task  # noqa: E402
from harness.tracking import start_run  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# Six sample databases of different shapes: one to five tables, text-heavy and numeric ones.
DBS = ("concert_singer", "pets_1", "car_1", "world_1", "student_transcripts_tracking",
       "wta_1")


def main() -> None:
    defaults = LearnConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbs", default=",".join(DBS), help="comma-separated sample databases")
    parser.add_argument("--n", type=int, default=defaults.n)
    parser.add_argument("--train-seconds", type=float, default=defaults.train.max_seconds)
    parser.add_argument("--base", default=defaults.train.base)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="skip databases already done")
    args = parser.parse_args()

    config = LearnConfig(n=args.n, seed=args.seed,
                         train=replace(defaults.train, base=args.base, seed=args.seed,
                                       max_seconds=args.train_seconds))
    out_dir = RESULTS / "learn_many"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for db in [d for d in args.dbs.split(",") if d]:
        path = out_dir / f"{db}.json"
        if args.resume and path.exists():
            rows.append(json.loads(path.read_text()))
            print(f"{db}: done before, kept")
            continue
        tracker = start_run("learn-many", {"db": db, **vars(args)}, name=f"learn-{db}")
        try:
            report = learn(db, config, tracker)
        finally:
            tracker.finish()
        heldout = [Task.from_dict(t) for t in report["heldout"]]
        # the base model's own score, also when the turn's parent was an earlier adapter
        base = (report["previous_heldout_ex"] if report["parent"] is None
                else heldout_ex(heldout, None, config))
        row = {"db": db, "base_ex": base, "adapter_ex": report["sft_heldout_ex"],
               "heldout_n": report["heldout_n"], "examples": report["examples"],
               "n_bootstrapped": report["n_bootstrapped"], "turn_s": report["total_s"],
               "phase_s": report["phase_s"], "steps": report["training"]["steps"],
               "registered": report["registered"], "model": config.train.base}
        path.write_text(json.dumps(row, indent=2) + "\n")
        rows.append(row)

    total_s = round(sum(r["turn_s"] for r in rows), 1)
    table = Table(title=f"one learning turn per database, {config.train.base} (held-out EX)")
    for col in ("database", "held-out n", "base", "adapter", "gain (points)", "turn s"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["db"], str(r["heldout_n"]), f"{r['base_ex']:.3f}",
                      f"{r['adapter_ex']:.3f}", f"{100 * (r['adapter_ex'] - r['base_ex']):+.1f}",
                      f"{r['turn_s']:.0f}")
    Console().print(table)
    print(f"{len(rows)} turns in {total_s:.0f} s")
    (RESULTS / "learn_many.json").write_text(json.dumps(
        {"model": config.train.base, "per_db": rows, "total_s": total_s}, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 4))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["base_ex"] for r in rows], width=0.4, label="base")
    ax.bar([x + 0.2 for x in xs], [r["adapter_ex"] for r in rows], width=0.4, label="adapter")
    ax.set_xticks(list(xs), [r["db"] for r in rows], rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out EX")
    ax.set_title(f"one learning turn per sample database ({config.train.base})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "learn_many.png", dpi=120)


if __name__ == "__main__":
    main()
