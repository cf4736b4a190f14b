"""One turn of the learning loop for a database: bootstrap verified tasks, fine-tune a LoRA
adapter on them (plus the database's hand-written training tasks and its verified traces),
score old vs new on held-out bootstrapped tasks never trained on, register the new one if it wins.
"""

from __future__ import annotations

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
from finetune.data import TASK_SETS, dedupe, guard, task_examples, trace_examples
from finetune.train import CARD, TrainConfig, train
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

    examples = task_examples(boot_train + hand_written(db.name), EVAL_AGENT)
    traces = list(TraceStore().iter(db=db.name, verified=True))
    examples += trace_examples(traces)
    examples = dedupe(guard(examples, {t.trace_id: t.task_id for t in traces}))
    random.Random(config.seed).shuffle(examples)
    examples = examples[: config.max_examples]

    adapter = adapters_dir() / db.name / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    t0 = time.perf_counter()
    card = train(examples, adapter, config.train, tracker, progress)
    finetune_s = time.perf_counter() - t0

    previous = registered(db.name)
    old_ex = heldout_ex(heldout, previous, config)
    new_ex = heldout_ex(heldout, adapter, config)
    wins = new_ex > old_ex
    card["eval"] = {"heldout_ex": new_ex, "previous_heldout_ex": old_ex,
                    "previous": str(previous) if previous else "base", "heldout_n": len(heldout)}
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
        "heldout": [t.to_dict() for t in heldout],
    }
    tracker.summary({k: v for k, v in report.items() if isinstance(v, int | float | bool)})
    return report


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
