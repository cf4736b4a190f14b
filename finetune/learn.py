"""One turn of the learning loop for a database: bootstrap verified tasks, fine-tune a LoRA
adapter on them (plus the database's hand-written training tasks and its confirmed traces),
score old vs new on held-out bootstrapped tasks never trained on, register the new one if it wins.

With `preference`, a DPO step follows SFT (`finetune.prefer`): on pairs of a right and a wrong
program for the same prompt, from the turn's confirmed traces and the SFT model's own drafts of
training tasks. Its adapter is scored on the same held-out tasks and becomes the turn's adapter
only if it beats SFT's.

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
from agents.traces import Trace, TraceStore
from finetune.bootstrap import bootstrap
from finetune.data import (
    TASK_SETS,
    Example,
    data_hash,
    dedupe,
    guard,
    task_examples,
    trace_examples,
    training_traces,
)
from finetune.prefer import (
    Pair,
    PreferConfig,
    dedupe_pairs,
    draft_pairs,
    prefer,
    sample_drafts,
    trace_pairs,
)
from finetune.train import CARD, TrainConfig, parent_mismatch, train
from finetune.turn import Turn
from harness.evaluate import summarize
from harness.synth import SynthConfig, synthesize
from harness.tasks import Task, load_tasks, resolve_db
from harness.tracking import NullTracker, Tracker

# One cheap pass per task: the eval measures the model, not the revise loop.
EVAL_AGENT = AgentConfig(rounds=0, candidates=1)


@dataclass(frozen=True)
class LearnConfig:
    # A turn aims at 15 minutes on a 2-core CPU with the 0.5B: about 1 to bootstrap, 7 to
    # train (the time budget below), the rest to score parent and adapter on the held-out
    # tasks (llama.cpp, adapters included). Larger machines raise `train.max_seconds`.
    n: int = field(default=200, metadata={"help": "bootstrapped tasks to draw"})
    heldout: float = field(default=0.15, metadata={"help": "share of them held out for eval"})
    max_examples: int = field(default=160, metadata={"help": "training examples at most"})
    eval_max_tokens: int = field(default=160, metadata={"help": "reply tokens during eval"})
    seed: int = 0
    # A high rate and small batches (more steps) are what moved the reply loss in a short
    # turn; 3e-4 with batches of 8 left it at 1.3 and EX at 0 (SmolLM2-135M).
    train: TrainConfig = TrainConfig(epochs=2, lr=1e-3, batch_size=4, max_seconds=420)
    preference: bool = field(default=False, metadata={
        "help": "after SFT, a DPO step on pairs of right and wrong programs, kept only if it "
                "scores higher on the held-out tasks"})
    prefer: PreferConfig = PreferConfig()


def learn(db_name: str, config: LearnConfig | None = None, tracker: Tracker | None = None,
          progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """The whole turn; returns a report (times, sizes, scores, whether it was registered).
    With `resume`, the database's unfinished turn goes on from its running phase
    (`finetune.turn`); it must have been begun with the same settings."""
    config = config or LearnConfig()
    tracker = tracker or NullTracker()
    started = time.perf_counter()
    db = resolve_db(db_name)
    if resume:
        turn = Turn.resume(db.name, config, progress)
    else:
        parent = registered(db.name)
        go_on = parent is not None and parent_mismatch(parent, config.train) is None
        # Training that goes on from the parent's weights adds only the traces recorded since
        # the parent read its own; a fresh start has learnt none of them.
        turn = Turn.begin(db.name, config, {
            "parent": str(parent) if parent else None,
            "since": trace_cutoff(read_card(parent)) if go_on else None,
            "until": datetime.now(UTC).isoformat(),
            "adapter": str(new_adapter_folder(db.name))}, progress)
    parent = Path(turn.state["parent"]) if turn.state["parent"] else None
    since, until = turn.state["since"], turn.state["until"]
    adapter = Path(turn.state["adapter"])
    parent_card = read_card(parent)
    phases = 5 if config.preference else 4

    found = turn.phase("bootstrap", 1, phases,
                       lambda: bootstrap_split(db, db_name, config, progress))
    heldout = [Task.from_dict(t) for t in found["heldout"]]
    boot_train = [Task.from_dict(t) for t in found["train"]]
    traces, ratings = recorded(db.name, since, until)
    examples, sources = gather(db.name, boot_train, traces, ratings, config)

    trained = turn.phase("fine-tuning", 2, phases, lambda: {"card": train(
        examples, adapter, config.train, tracker, progress, parent=parent)})
    card = trained["card"]
    old_ex = turn.phase("scoring the parent", 3, phases, lambda: {"ex": heldout_ex(
        heldout, parent, config, out=turn.folder / "parent.jsonl", progress=progress)})["ex"]
    new_ex = turn.phase("scoring the adapter", 4, phases, lambda: {"ex": heldout_ex(
        heldout, adapter, config, out=turn.folder / "adapter.jsonl", progress=progress)})["ex"]
    if config.preference:
        step = turn.phase("preference", 5, phases, lambda: prefer_step(
            adapter, new_ex, heldout, boot_train, traces, ratings, config, tracker, progress))
        preference = step["info"]
        dpo = (Path(step["dpo"]), step["dpo_card"], step["dpo_ex"]) if step["dpo"] else None
    else:
        preference, dpo = off(), None
    kept, kept_card, kept_ex = dpo if preference["preference_kept"] else (adapter, card, new_ex)

    lineage = {"parent_data_hash": (parent_card.get("data") or {}).get("hash"),
               "parent_scores": parent_card.get("eval") or None, "data": sources,
               "traces_since": since, "traces_until": until}
    for folder, its_card, ex in [(adapter, card, new_ex), *([dpo] if dpo else [])]:
        its_card["eval"] = {"heldout_ex": ex, "previous_heldout_ex": old_ex,
                            "previous": str(parent) if parent else "base",
                            "heldout_n": len(heldout)}
        if folder != adapter:  # the DPO adapter: what it was measured against
            its_card["eval"]["sft_heldout_ex"] = new_ex
        its_card["lineage"] = (its_card.get("lineage") or {}) | lineage | {
            "scores": {"heldout_ex": ex, "previous_heldout_ex": old_ex}}
        write_json(folder / CARD, its_card)  # whole or not at all
    wins = kept_ex > old_ex
    if wins:
        register(db.name, kept, kept_card["eval"])
    times = {name: p["seconds"] for name, p in turn.state["phases"].items()}
    report = {
        "db": db.name, "adapter": str(kept), "registered": wins,
        "parent": str(parent) if parent else None,
        "n_bootstrapped": len(heldout) + len(boot_train), "bootstrap_tried": found["tried"],
        "bootstrap_s": times["bootstrap"], "examples": len(examples),
        "finetune_s": times["fine-tuning"], "training": card["training"],
        "heldout_n": len(heldout), "previous_heldout_ex": old_ex, "adapter_heldout_ex": kept_ex,
        "sft_adapter": str(adapter), "sft_heldout_ex": new_ex,
        **preference, "preference_s": times.get("preference", 0.0), "phase_s": times,
        # this run's wall time and the phases a killed run finished before (`resume`)
        "total_s": round(turn.earlier + time.perf_counter() - started, 1),
        "resumed": resume, "config": asdict(config),
        "heldout": [t.to_dict() for t in heldout], "lineage": kept_card["lineage"],
    }
    turn.finish()
    tracker.summary({k: v for k, v in report.items() if isinstance(v, int | float | bool)})
    return report


def bootstrap_split(db: Any, db_name: str, config: LearnConfig, progress: bool
                    ) -> dict[str, Any]:
    """The turn's bootstrapped tasks, shuffled and split into held-out and training ones."""
    found = bootstrap(db, n=config.n, seed=config.seed, db_name=db_name, progress=progress)
    tasks = [Task.from_dict(t) for t in found.tasks]
    random.Random(config.seed).shuffle(tasks)
    n_held = max(1, round(len(tasks) * config.heldout))
    return {"heldout": [t.to_dict() for t in tasks[:n_held]],
            "train": [t.to_dict() for t in tasks[n_held:]], "tried": found.tried}


def prefer_step(sft: Path, sft_ex: float, heldout: list[Task], boot_train: list[Task],
                traces: list[Trace], ratings: dict[str, str], config: LearnConfig,
                tracker: Tracker, progress: bool) -> dict[str, Any]:
    """The DPO step after SFT: its report fields (`info`), and its adapter folder, card and
    held-out EX (`dpo`, `dpo_card`, `dpo_ex`; `dpo` None when there were too few pairs to run
    it)."""
    pairs = preference_pairs(sft, boot_train, traces, ratings, config, progress)
    info = off() | {"pairs": len(pairs), "pair_sources": {
        "traces": sum(p.source.startswith("trace:") for p in pairs),
        "drafts": sum(p.source.startswith("task:") for p in pairs)}, "preference_note": None}
    if len(pairs) < config.prefer.min_pairs:
        info["preference_note"] = (f"no DPO step: {len(pairs)} preference "
                                   f"pair{'' if len(pairs) == 1 else 's'}, fewer than "
                                   f"{config.prefer.min_pairs}")
        return {"info": info, "dpo": None}
    folder = beside(sft, "dpo")
    card = prefer(pairs, sft, folder, config.train.base, config.prefer, tracker, progress)
    ex = heldout_ex(heldout, folder, config, progress=progress)
    # Only a strict gain keeps it: a tie is no evidence DPO helped.
    info |= {"preference_adapter": str(folder), "preference_heldout_ex": ex,
             "preference_kept": ex > sft_ex}
    return {"info": info, "dpo": str(folder), "dpo_card": card, "dpo_ex": ex}


def preference_pairs(sft: Path, boot_train: list[Task], traces: list[Trace],
                     ratings: dict[str, str], config: LearnConfig, progress: bool) -> list[Pair]:
    """The turn's confirmed traces' pairs first (what real use got wrong), then pairs from the
    SFT model's own drafts of training tasks, when there is room for more; `max_pairs` at most.
    """
    limit = config.prefer.max_pairs
    pairs = trace_pairs(traces, ratings)
    if len(pairs) < limit and config.prefer.drafts:
        drafts = sample_drafts(boot_train, eval_lm_config(sft, config), config.prefer.drafts,
                               progress)
        pairs += draft_pairs(boot_train, drafts)
    return dedupe_pairs(pairs)[:limit]


def off() -> dict[str, Any]:
    return {"pairs": None, "pair_sources": None, "preference_adapter": None,
            "preference_heldout_ex": None, "preference_kept": False,
            "preference_note": "preference tuning off"}


def recorded(db_name: str, since: str | None, until: str
             ) -> tuple[list[Trace], dict[str, str]]:
    """The database's verified traces recorded in (since, until], but for those of test-split
    questions, and the latest verdict on each rated one."""
    store = TraceStore()
    traces = [t for t in store.iter(db=db_name, verified=True, since=since)
              if t.created_at <= until]
    return training_traces(traces), store.ratings(db_name)


def gather(db_name: str, boot_train: list[Task], traces: list[Trace], ratings: dict[str, str],
           config: LearnConfig) -> tuple[list[Example], dict[str, dict[str, Any]]]:
    """The turn's training examples (never a test-split one), and their size and hash per
    source: bootstrapped tasks, hand-written tasks, confirmed traces (`recorded`).
    """
    task_ex = task_examples(boot_train + hand_written(db_name), EVAL_AGENT)
    trace_ex = trace_examples(traces, ratings)
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


def beside(adapter: Path, kind: str) -> Path:
    """A new folder beside `adapter` for another adapter of the same turn, never an existing one.
    """
    folder, n = adapter.with_name(f"{adapter.name}-{kind}"), 1
    while folder.exists() or folder.with_name(folder.name + ".training").exists():
        n += 1
        folder = adapter.with_name(f"{adapter.name}-{kind}{n}")
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
               agent_config: AgentConfig = EVAL_AGENT, out: Path | None = None,
               progress: bool = False) -> float:
    """EX of one pass of the agent with `adapter` (None: the base model) over `tasks`. With
    `out`, results go there and a rerun scores only the tasks not yet in it."""
    lm_config = eval_lm_config(adapter, config)
    with tempfile.TemporaryDirectory() as tmp:
        results = synthesize(tasks, out or Path(tmp) / "results.jsonl", make_lm(lm_config),
                             lm_config, agent_config, SynthConfig(),
                             store=TraceStore(Path(tmp) / "t.db"), progress=progress,
                             program="none")  # the model alone, no demos
    return summarize(results)["overall"]["ex"] or 0.0


def eval_lm_config(adapter: Path | None, config: LearnConfig) -> LMConfig:
    """The model with `adapter` (None: the base) as a turn scores and samples it: greedy,
    uncached, replies cut at `eval_max_tokens`."""
    return LMConfig(model=config.train.base, adapter=str(adapter) if adapter else None,
                    cache=False, max_tokens=config.eval_max_tokens, seed=config.seed).validate()
