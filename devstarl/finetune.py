"""`devstarl finetune`: LoRA SFT on task files and/or verified traces."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agents.lm.catalogue import DEFAULT_MODEL
from tools.stopping import stop_on_signals

out = Console()

Base = Annotated[str, typer.Option(
    help="The base model: a catalogue name (`devstarl models list`) or a Hugging Face model "
         "folder.")]
TopLayers = Annotated[int, typer.Option(
    help="LoRA on the last K decoder layers only (0: all); steps cost less below them.")]


def finetune(
    data: Annotated[list[Path] | None, typer.Argument(
        help="Task files (JSONL) whose gold programs become examples; test splits are dropped.")
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Adapter folder to write.")
                      ] = Path("adapter"),
    base: Base = DEFAULT_MODEL,
    from_traces: Annotated[bool, typer.Option(
        "--from-traces", help="Add confirmed traces: verified, and matching gold, marked good "
                              "or agreed on by different programs; never one marked bad.")
                      ] = False,
    db: Annotated[str | None, typer.Option(help="With --from-traces: only this database.")
                  ] = None,
    epochs: Annotated[int, typer.Option(help="Most passes over the data.")] = 3,
    rank: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 3e-4,
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 8,
    docs_k: Annotated[int, typer.Option("--docs-k", help="Doc snippets per prompt, as in ask.")
                      ] = 2,
    seed: Annotated[int, typer.Option(help="Shuffling and initialization seed.")] = 0,
    top_layers: TopLayers = 0,
) -> None:
    """Fine-tune a LoRA adapter on verified programs; writes the peft files and an adapter card."""
    from agents.config import AgentConfig
    from agents.traces import TraceStore
    from finetune.data import dedupe, guard, task_examples, trace_examples, training_traces
    from finetune.train import TrainConfig, TrainError, train
    from harness.tasks import load_tasks
    from harness.tracking import start_run

    config = TrainConfig(base=base, rank=rank, alpha=2 * rank, lr=lr, epochs=epochs,
                         batch_size=batch_size, seed=seed, top_layers=top_layers)
    examples = []
    for path in data or []:
        examples += task_examples(load_tasks(path), AgentConfig(docs_k=docs_k))
    trace_ids: dict[str, str | None] = {}
    if from_traces:
        store = TraceStore()
        traces = training_traces(store.iter(db=db, verified=True))
        trace_ids = {t.trace_id: t.task_id for t in traces}
        examples += trace_examples(traces, store.ratings(db))
    if not examples:
        raise TrainError("no training examples: pass task files and/or --from-traces")
    examples = dedupe(guard(examples, trace_ids))
    out.print(f"{len(examples)} examples")
    tracker = start_run("finetune", asdict(config) | {"examples": len(examples)})
    try:
        card = train(examples, output, config, tracker)
        tracker.summary(card["training"])
    finally:
        tracker.finish()
    stats = card["training"]
    out.print(f"adapter: {output}  ({stats['steps']} steps, {stats['seconds']} s, "
              f"best dev loss {stats['best_dev_loss']:.3f})")


def learn(
    db: Annotated[str, typer.Option("--db", help="'demo', a sample database's name, a DuckDB "
                                                 "file or an Ibis URL.")] = "demo",
    n: Annotated[int, typer.Option("-n", help="Bootstrapped tasks to draw.")] = 200,
    epochs: Annotated[int, typer.Option(help="Most passes over the data.")] = 2,
    max_examples: Annotated[int, typer.Option(help="Training examples at most.")] = 160,
    train_seconds: Annotated[float, typer.Option(
        help="Stop fine-tuning after about this long (0: no limit).")] = 420.0,
    top_layers: TopLayers = 0,
    seed: Annotated[int, typer.Option(help="Seed for sampling, splits and training.")] = 0,
    base: Base = DEFAULT_MODEL,
    preference: Annotated[bool, typer.Option(
        "--preference/--no-preference",
        help="After fine-tuning, a DPO step on pairs of a right and a wrong program for the "
             "same prompt (from confirmed traces and the model's own drafts); kept only if it "
             "scores higher than fine-tuning alone on the held-out tasks.")] = False,
    max_pairs: Annotated[int, typer.Option(help="With --preference: pairs at most.")] = 32,
    drafts: Annotated[int, typer.Option(
        help="With --preference: training tasks the fine-tuned model drafts for pairs (0: "
             "confirmed traces only).")] = 32,
    preference_seconds: Annotated[float, typer.Option(
        help="With --preference: stop DPO after about this long (0: no limit).")] = 0.0,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Go on with this database's turn that was stopped, from the phase it "
                         "was in (same settings).")] = False,
) -> None:
    """One turn of the learning loop: bootstrap, fine-tune, compare with the current adapter on
    held-out tasks, and register the new adapter for the database if it wins.

    Ctrl-C or SIGTERM stops it within seconds (exit status 130 or 143); an adapter is
    registered whole or not at all, and `--resume` goes on from the phase it was in."""
    # The adapter is written to a staging folder and renamed, the registry replaced atomically:
    # stopping anywhere leaves the registry as it was or fully updated (tools.stopping).
    stop_on_signals()
    from finetune.learn import LearnConfig
    from finetune.learn import learn as run
    from harness.tracking import start_run

    defaults = LearnConfig()
    config = LearnConfig(n=n, max_examples=max_examples, seed=seed,
                         train=replace(defaults.train, base=base, epochs=epochs, seed=seed,
                                       max_seconds=train_seconds, top_layers=top_layers),
                         preference=preference,
                         prefer=replace(defaults.prefer, max_pairs=max_pairs, drafts=drafts,
                                        max_seconds=preference_seconds, seed=seed))
    tracker = start_run("learn", asdict(config) | {"db": db})
    try:
        report = run(db, config, tracker, resume=resume)
    finally:
        tracker.finish()
    verdict = "registered" if report["registered"] else "not registered (no gain)"
    if preference:
        if report["preference_heldout_ex"] is None:
            out.print(report["preference_note"])
        else:
            out.print(f"preference ({report['pairs']} pairs): held-out EX "
                      f"{report['sft_heldout_ex']:.3f} after fine-tuning, "
                      f"{report['preference_heldout_ex']:.3f} after DPO; "
                      f"{'kept' if report['preference_kept'] else 'dropped (no gain)'}")
    out.print(f"{report['db']}: held-out EX {report['previous_heldout_ex']:.3f} -> "
              f"{report['adapter_heldout_ex']:.3f}; adapter {report['adapter']} {verdict}; "
              f"{report['total_s']:.0f} s in all")
