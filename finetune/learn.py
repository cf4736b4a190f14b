"""One turn of the learning loop for a database: bootstrap verified tasks, fine-tune a LoRA
adapter on them (plus the database's hand-written training tasks and its confirmed traces),
score old vs new on held-out bootstrapped tasks never trained on, register the new one if it wins.

A turn on a database that has a registered adapter goes on from it (its LoRA weights, when they
fit the settings) and adds the traces recorded since it; the card's `lineage` names the parent,
the data hashes per source, the trace window and the scores.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.config import AgentConfig
from agents.lm import LMConfig, make_lm
from agents.registry import adapters_dir, register, registered, write_json
from agents.traces import TraceStore
from finetune.bootstrap import bootstrap
from finetune.data import (
    TASK_SETS,
    Example,
    data_hash,
    dedupe,
    guard,
    task_examples,
    trace_examples,
)
from finetune.train import CARD, TrainConfig, parent_mismatch, train
from harness.evaluate import summarize
from harness.synth import SynthConfig, synthesize
from harness.tasks import Task, load_tasks, resolve_db
from harness.tracking import NullTracker, Tracker

# One cheap pass per task: the eval measures the model, not the revise loop.
EVAL_AGENT = AgentConfig(rounds=0, candidates=1)


@dataclass(frozen=True)
class LearnConfig:
    n: int = field(default=300, metadata={"help": "bootstrapped tasks to draw"})
    heldout: float = field(default=0.15, metadata={"help": "share of them held out for eval"})
    max_examples: int = field(default=160, metadata={"help": "training examples at most"})
    eval_max_tokens: int = field(default=160, metadata={"help": "reply tokens during eval"})
    seed: int = 0
    # A turn has ~10 CPU minutes of training: a high rate and small batches (more steps) are
    # what moved the reply loss there; 3e-4 with batches of 8 left it at 1.3 and EX at 0.
    train: TrainConfig = TrainConfig(epochs=2, lr=1e-3, batch_size=4)


def learn(db_name: str, config: LearnConfig | None = None, tracker: Tracker | None = None,
          progress: bool = True) -> dict[str, Any]:
    """The whole turn; returns a report (times, sizes, scores, whether it was registered)."""
    config = config or LearnConfig()
    tracker = tracker or NullTracker()
    started = time.perf_counter()
    db = resolve_db(db_name)

    found = bootstrap(db, n=config.n, seed=config.seed, db_name=db_name, progress=progress)
    bootstrap_s = time.perf_counter() - started
    tasks = [Task.from_dict(t) for t in found.tasks]
    random.Random(config.seed).shuffle(tasks)
    n_held = max(1, round(len(tasks) * config.heldout))
    heldout, boot_train = tasks[:n_held], tasks[n_held:]

    parent = registered(db.name)
    parent_card = read_card(parent)
    go_on = parent is not None and parent_mismatch(parent, config.train) is None
    # Training that goes on from the parent's weights adds only the traces recorded since the
    # parent read its own; a fresh start has learnt none of them.
    since = trace_cutoff(parent_card) if go_on else None
    until = datetime.now(UTC).isoformat()
    examples, sources = gather(db.name, boot_train, since, until, config)

    adapter = new_adapter_folder(db.name)
    t0 = time.perf_counter()
    card = train(examples, adapter, config.train, tracker, progress, parent=parent)
    finetune_s = time.perf_counter() - t0

    old_ex = heldout_ex(heldout, parent, config)
    new_ex = heldout_ex(heldout, adapter, config)
    wins = new_ex > old_ex
    card["eval"] = {"heldout_ex": new_ex, "previous_heldout_ex": old_ex,
                    "previous": str(parent) if parent else "base", "heldout_n": len(heldout)}
    card["lineage"] |= {
        "parent_data_hash": (parent_card.get("data") or {}).get("hash"),
        "parent_scores": parent_card.get("eval") or None,
        "data": sources,
        "traces_since": since, "traces_until": until,
        "scores": {"heldout_ex": new_ex, "previous_heldout_ex": old_ex},
    }
    write_json(adapter / CARD, card)  # whole or not at all
    if wins:
        register(db.name, adapter, card["eval"])
    report = {
        "db": db.name, "adapter": str(adapter), "registered": wins,
        "n_bootstrapped": len(tasks), "bootstrap_tried": found.tried,
        "bootstrap_s": round(bootstrap_s, 1), "examples": len(examples),
        "finetune_s": round(finetune_s, 1), "training": card["training"],
        "heldout_n": len(heldout), "previous_heldout_ex": old_ex, "adapter_heldout_ex": new_ex,
        "total_s": round(time.perf_counter() - started, 1), "config": asdict(config),
        "heldout": [t.to_dict() for t in heldout], "lineage": card["lineage"],
    }
    tracker.summary({k: v for k, v in report.items() if isinstance(v, int | float | bool)})
    return report


def gather(db_name: str, boot_train: list[Task], since: str | None, until: str,
           config: LearnConfig) -> tuple[list[Example], dict[str, dict[str, Any]]]:
    """The turn's training examples (never a test-split one), and their size and hash per
    source: bootstrapped tasks, hand-written tasks, confirmed traces recorded in (since, until].
    """
    store = TraceStore()
    traces = [t for t in store.iter(db=db_name, verified=True, since=since)
              if t.created_at <= until]
    task_ex = task_examples(boot_train + hand_written(db_name), EVAL_AGENT)
    trace_ex = trace_examples(traces, store.ratings(db_name))
    guard(task_ex + trace_ex, {t.trace_id: t.task_id for t in traces})
    random.Random(config.seed).shuffle(task_ex)
    # Confirmed traces come first (the newest, up to half the examples): they are few, and
    # what real use asked; the shuffled tasks fill the rest.
    examples = dedupe(trace_ex[: config.max_examples // 2] + task_ex)[: config.max_examples]
    boot_ids = {t.id for t in boot_train}
    kinds = {id(e): "traces" for e in trace_ex} | {
        id(e): "bootstrapped" if e.source.removeprefix("task:") in boot_ids else "hand_written"
        for e in task_ex}
    sources = {kind: [e for e in examples if kinds[id(e)] == kind]
               for kind in ("bootstrapped", "hand_written", "traces")}
    return examples, {kind: {"size": len(part), "hash": data_hash(part) if part else None}
                      for kind, part in sources.items()}


def read_card(adapter: Path | None) -> dict[str, Any]:
    """The card beside an adapter; empty when there is none or it cannot be read (an adapter
    registered by hand), so a turn still runs, from all traces."""
    try:
        card = json.loads((adapter / CARD).read_text()) if adapter is not None else {}
    except (OSError, ValueError, RecursionError):
        return {}
    return card if isinstance(card, dict) else {}


def trace_cutoff(card: dict[str, Any]) -> str | None:
    """When the adapter of `card` last read the traces: its turn's `traces_until`, else (an
    adapter `devstarl finetune` trained) when it was made; None when unknown."""
    return (card.get("lineage") or {}).get("traces_until") or card.get("created_at")


def new_adapter_folder(db_name: str) -> Path:
    """A folder for this turn's adapter named by the time, never an existing one (the parent
    trained the same second, say): training replaces what is at its folder."""
    name = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder, n = adapters_dir() / db_name / name, 1
    while folder.exists() or folder.with_name(folder.name + ".training").exists():
        n += 1
        folder = folder.with_name(f"{name}-{n}")
    return folder


def hand_written(db_name: str) -> list[Task]:
    """The project's hand-written tasks over this database (test splits are dropped later)."""
    names: dict[str, str] = {}
    found = []
    for path in sorted(TASK_SETS.glob("*.jsonl")):
        for task in load_tasks(path):
            if task.db not in names:
                names[task.db] = resolve_db(task.db).name
            if names[task.db] == db_name:
                found.append(task)
    return found


def heldout_ex(tasks: list[Task], adapter: Path | None, config: LearnConfig,
               agent_config: AgentConfig = EVAL_AGENT) -> float:
    """EX of one pass of the agent with `adapter` (None: the base model) over `tasks`."""
    lm_config = LMConfig(model=config.train.base, adapter=str(adapter) if adapter else None,
                         cache=False, max_tokens=config.eval_max_tokens,
                         seed=config.seed).validate()
    with tempfile.TemporaryDirectory() as tmp:
        results = synthesize(tasks, Path(tmp) / "results.jsonl", make_lm(lm_config), lm_config,
                             agent_config, SynthConfig(), store=TraceStore(Path(tmp) / "t.db"),
                             progress=False, program="none")  # the model alone, no demos
    return summarize(results)["overall"]["ex"] or 0.0
