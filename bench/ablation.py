"""Ablation of the pipeline on the demo task set's test split, one model, side by side in one run:
the full pipeline (every part on, 2 revise rounds) against itself without docs, without
revise rounds, without table linking, with 2 recalled examples from the database's bank,
without any worked examples, without the reflect step, with 3 voted candidates, and with 4
redrafts of a failed draft.

    .venv/bin/python bench/ablation.py [--model qwen2.5-coder-0.5b] [--limit N] [--stride K]
                                       [--only full,no_docs,...] [--split dev]

Prints EX and p50 seconds per variant; writes bench/results/ablation.json (`--split dev`:
ablation_dev.json, for choosing defaults without looking at the test split; another
model than the default: ablation[_dev]_<model>.json)
(`variants.<name>.ex`, `.p50_s`, and the rest), per-variant results and reports under
bench/results/ablation/, and a plot bench/results/ablation.png. A run of some variants
(`--only`) replaces those and keeps the others measured on the same model, runtime and tasks,
so a long ablation can be run a variant at a time; each variant records when it ran.
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
from agents.lm import DEFAULT_MODEL, LMConfig, choose_runtime, make_lm  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from finetune.shots import ensure_shots  # noqa: E402
from harness.evaluate import summarize  # noqa: E402
from harness.synth import SynthConfig, synthesize  # noqa: E402
from harness.tasks import load_tasks, resolve_db  # noqa: E402
from harness.tracking import run_meta, start_run  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
FULL = AgentConfig()
VARIANTS = {
    "full": FULL,
    "no_docs": replace(FULL, docs_k=0),
    "no_revise": replace(FULL, rounds=0),
    "no_linking": replace(FULL, link_tables=False),
    "shots_2": replace(FULL, shots_k=2),
    "no_examples": replace(FULL, examples=False),
    "no_reflect": replace(FULL, reflect=False),  # the tool's hint stands in for the diagnosis
    "candidates_3": replace(FULL, candidates=3),
    "redrafts_4": replace(FULL, redrafts=4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a catalogue name or folder")
    parser.add_argument("--limit", type=int, default=None, help="first N test tasks only")
    parser.add_argument("--stride", type=int, default=1,
                        help="every K-th test task only (keeps the difficulty mix)")
    parser.add_argument("--only", default=",".join(VARIANTS), help="variants to run, by name")
    parser.add_argument("--split", default="test", choices=("test", "dev"))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")

    tasks = load_tasks(TASKS, splits=args.split)[:: args.stride][: args.limit]
    if any(VARIANTS[name].shots_k for name in names):
        ensure_shots(resolve_db(tasks[0].db))  # the demo's bank of verified examples
    lm_config = LMConfig(model=args.model, cache=False).validate()
    lm = make_lm(lm_config)
    stem = "ablation" if args.split == "test" else f"ablation_{args.split}"
    if args.model != DEFAULT_MODEL:  # another model's figures never replace the default's
        stem += f"_{Path(args.model).name}"
    out_dir = RESULTS / stem
    out_dir.mkdir(parents=True, exist_ok=True)
    setup = {"model": lm_config.model, "dtype": lm_config.resolved_dtype(),
             "runtime": choose_runtime(lm_config), "split": args.split, "stride": args.stride,
             "limit": args.limit, "tasks": [t.id for t in tasks]}
    path = RESULTS / f"{stem}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    same = all(old.get(k) == v for k, v in setup.items())
    figures = old.get("variants", {}) if same else {}  # earlier variants on the same setup
    store = TraceStore()
    for name in names:
        config = VARIANTS[name]
        print(f"\n== {name}: {len(tasks)} {args.split} tasks")
        for stale in out_dir.glob(f"{name}.jsonl*"):  # a fresh run of this variant, not a resume
            stale.unlink()
        meta = run_meta(TASKS, lm_config, config, SynthConfig(), args.split, args.limit)
        tracker = start_run("ablation", meta, name=f"ablation-{name}")
        results = synthesize(tasks, out_dir / f"{name}.jsonl", lm, lm_config, config,
                             SynthConfig(), tracker, store, program="none")
        overall = summarize(results)["overall"]
        figures[name] = {"ex": overall["ex"], "comp_at_1": overall["comp@1"],
                         "exec_at_1": overall["exec@1"], "p50_s": overall["seconds_p50"],
                         "n": overall["tasks"], "config_hash": config.hash,
                         "ran_at": time.strftime("%Y-%m-%d %H:%M")}
        tracker.summary(figures[name])
        tracker.finish()

    print_runs(f"ablation on the {args.split} split ({lm_config.model})", "variant", figures)
    path.write_text(json.dumps({**setup, "variants": figures}, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(figures), [f["ex"] for f in figures.values()])
    ax.set_ylabel("EX")
    ax.set_ylim(0, 1)
    ax.set_title(f"pipeline ablation, demo {args.split} split ({lm_config.model})")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=120)


if __name__ == "__main__":
    main()
