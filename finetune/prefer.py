"""Preference tuning from tool feedback: pairs of a verified-correct program and a failing or
wrong one for the same prompt, and a DPO step (TRL) on them that goes on from an SFT adapter.

Pairs come from data a turn already has, never a test split (`guard`):
- confirmed traces: each draft or revision whose own program failed its compile or sample run
  gives (its prompt, the trace's final program, that failed program);
- training tasks with gold programs: the model drafts once per task through the real pipeline
  with no revise round, the shared judge compares it with gold, and a wrong or failing draft
  gives (its prompt, the gold program, the draft).
Replies are formatted and tokenized exactly as SFT does (`CodeAdapter`, `finetune.train.encode`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.adapter import CodeAdapter
from agents.config import AgentConfig, check_types, show
from agents.lm import LMConfig, make_lm
from agents.lm.config import auto_dtype
from agents.signatures import DraftIbis, Revise
from agents.traces import Trace, TraceStore
from finetune.data import Example, confirmed, guard
from finetune.train import CARD, PEFT_NOISE, TrainError, base_folder, encode, save_staged
from harness.synth import SynthConfig, synthesize
from harness.tasks import Task, training_tasks
from harness.tracking import NullTracker, Tracker

# The model steps whose reply is a program, and the signature and field it answers.
PROGRAM_STEPS = {"draft": (DraftIbis, "code"), "redraft": (DraftIbis, "code"),
                 "constrained_draft": (DraftIbis, "code"), "revise": (Revise, "fixed_code")}
TOOL_STEPS = ("compile", "execute_on_sample")
# One greedy draft, no revision: the pair is about what the model writes first.
DRAFT_AGENT = AgentConfig(rounds=0, candidates=1)


@dataclass(frozen=True)
class Pair:
    """One prompt the pipeline sent, a program verified right for it and one that was not."""

    prompt: list[dict[str, str]]  # the messages the model saw, system first
    chosen: str  # the reply as SFT formats it: the right program
    rejected: str  # the reply as SFT formats it: the failing or wrong program
    source: str  # "trace:<id>" or "task:<id>"
    question: str

    def example(self, reply: str) -> Example:
        return Example([*self.prompt, {"role": "assistant", "content": reply}], self.source,
                       self.question)


@dataclass(frozen=True)
class PreferConfig:
    # beta 0.1 is DPO's usual strength of the pull toward the reference (the SFT adapter).
    beta: float = field(default=0.1, metadata={"help": "DPO beta: how far from SFT it may go"})
    # Adam moves each weight by about lr a step whatever the loss's scale: a tenth of learn's
    # SFT rate (1e-3) refines the SFT adapter without rewriting it in a turn's few steps.
    lr: float = field(default=1e-4, metadata={"help": "peak learning rate"})
    # Several passes over a few pairs overfit fast (reward margins grow, EX does not).
    epochs: int = field(default=1, metadata={"help": "passes over the pairs"})
    batch_size: int = field(default=4, metadata={"help": "pairs per optimizer step"})
    max_length: int = field(default=1536, metadata={"help": "longer pairs are skipped, as SFT "
                                                             "skips longer examples"})
    max_pairs: int = field(default=32, metadata={"help": "pairs at most (traces' first)"})
    min_pairs: int = field(default=4, metadata={"help": "fewer pairs: no DPO step"})
    drafts: int = field(default=32, metadata={"help": "training tasks the SFT model drafts for "
                                                      "pairs (0: traces only)"})
    max_seconds: float = field(default=0.0, metadata={
        "help": "stop DPO after about this long (0: no limit)"})
    seed: int = 0

    def __post_init__(self) -> None:
        check_types(self, TrainError)
        checks = {"beta": self.beta > 0, "lr": self.lr >= 0, "epochs": self.epochs >= 1,
                  "batch_size": self.batch_size >= 1, "max_length": self.max_length >= 1,
                  "max_pairs": self.max_pairs >= 1, "min_pairs": self.min_pairs >= 1,
                  "drafts": self.drafts >= 0, "max_seconds": self.max_seconds >= 0}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            shown = ", ".join(f"{n}={show(getattr(self, n))}" for n in bad)
            raise TrainError(f"bad preference settings: {shown}")


def trace_pairs(traces: Iterable[Trace], ratings: Mapping[str, str] | None = None
                ) -> list[Pair]:
    """From confirmed traces: each draft or revision whose program failed its own check, with
    the trace's final program as chosen and that program as rejected. SplitLeak if any is a
    test-split question."""
    pairs, task_ids = [], {}
    for trace in traces:
        if not confirmed(trace, (ratings or {}).get(trace.trace_id)):
            continue
        task_ids[trace.trace_id] = trace.task_id
        for i, step in enumerate(trace.steps):
            if step.name not in PROGRAM_STEPS or not step.messages or not _failed(trace, i):
                continue
            signature, name = PROGRAM_STEPS[step.name]
            pair = _pair(step.messages, signature, name, trace.final_code,
                         step.outputs.get(name), f"trace:{trace.trace_id}", trace.question)
            if pair is not None:
                pairs.append(pair)
    return guarded(dedupe_pairs(pairs), task_ids)


def draft_pairs(tasks: Iterable[Task], traces: Iterable[Trace]) -> list[Pair]:
    """From one-draft runs (`sample_drafts`) over training tasks with gold programs: each draft
    judged wrong or failing (`correct` False) gives the gold program as chosen and the draft
    as rejected. A draft the judge could not judge (its gold failed) gives none."""
    gold = {t.id: t for t in training_tasks(tasks) if t.gold_code}
    pairs = []
    for trace in traces:
        task = gold.get(trace.task_id or "")
        step = next((s for s in trace.steps if s.name == "draft" and s.messages), None)
        if task is None or trace.correct is not False or step is None:
            continue
        pair = _pair(step.messages, DraftIbis, "code", task.gold_code, step.outputs.get("code"),
                     f"task:{task.id}", task.question)
        if pair is not None:
            pairs.append(pair)
    return guarded(dedupe_pairs(pairs))


def sample_drafts(tasks: Iterable[Task], lm_config: LMConfig, limit: int,
                  progress: bool = True) -> list[Trace]:
    """One greedy draft for each of the first `limit` training tasks with gold programs, by
    the model of `lm_config` through the real pipeline (no revise round, no demos), each judged
    by synth's shared judge; their traces, kept in a scratch store."""
    chosen = [t for t in training_tasks(tasks) if t.gold_code][:limit]
    if not chosen:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        store = TraceStore(Path(tmp) / "drafts.sqlite")
        try:
            synthesize(chosen, Path(tmp) / "drafts.jsonl", make_lm(lm_config), lm_config,
                       DRAFT_AGENT, SynthConfig(), store=store, progress=progress,
                       program="none")
            return list(store.iter(newest_first=False))
        finally:
            store.close()


def guarded(pairs: list[Pair], trace_task_ids: dict[str, str | None] | None = None
            ) -> list[Pair]:
    """`pairs`, after `finetune.data.guard` found none from a test split (else SplitLeak)."""
    guard([p.example(p.chosen) for p in pairs], trace_task_ids)
    return pairs


def dedupe_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    seen, kept = set(), []
    for pair in pairs:
        if (key := _key(pair)) not in seen:
            seen.add(key)
            kept.append(pair)
    return kept


def pairs_hash(pairs: list[Pair]) -> str:
    digest = hashlib.sha256()
    for key in sorted(_key(p) for p in pairs):
        digest.update(key.encode())
    return digest.hexdigest()[:16]


def prefer(pairs: list[Pair], sft: Path, out_dir: Path, base: str,
           config: PreferConfig | None = None, tracker: Tracker | None = None,
           progress: bool = True) -> dict[str, Any]:
    """DPO on `pairs` from the LoRA weights of the SFT adapter `sft` (over the model `base`);
    the adapter and its card are written whole to `out_dir` (or nothing is); returns the card.
    """
    import torch
    from datasets import Dataset
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = config or PreferConfig()
    tracker = tracker or NullTracker()
    if not pairs:
        raise TrainError("no preference pairs")
    folder = base_folder(base)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = [row for pair in pairs if (row := _encode(tokenizer, pair, config.max_length))]
    if not rows:
        raise TrainError(f"no preference pair fits in {config.max_length} tokens")

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, auto_dtype()))
    staging = out_dir.with_name(out_dir.name + ".training")
    start = time.perf_counter()
    # The trainer's own output folder is scratch: nothing of it is kept.
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as scratch:
        warnings.filterwarnings("ignore", PEFT_NOISE, FutureWarning)  # TRL asks it too
        model = PeftModel.from_pretrained(model, sft, is_trainable=True)
        trainer = _trainer(model, tokenizer, Dataset.from_list(rows), config, Path(scratch),
                           tracker, progress)
        result = trainer.train()
        history = trainer.state.log_history
    seconds = time.perf_counter() - start
    # Only the trained adapter: the frozen reference copy TRL added stays behind.
    save_staged(staging, out_dir,
                lambda: model.save_pretrained(staging, selected_adapters=["default"]))

    card = _card(sft) | {
        "name": out_dir.name, "base_model": str(base),
        "preference": {
            "pairs": len(pairs), "trained": len(rows), "skipped_too_long": len(pairs) - len(rows),
            "hash": pairs_hash(pairs), "sources": _sources(pairs),
            "settings": asdict(config), "steps": trainer.state.global_step,
            "planned_steps": trainer.state.max_steps,
            "seconds": round(seconds, 1), "loss": round(float(result.training_loss), 4),
            "last": next((h for h in reversed(history) if "loss" in h), {}),
            "from_sft": str(sft)},
        "eval": {}, "created_at": datetime.now(UTC).isoformat()}
    text = json.dumps(card, indent=2) + "\n"
    save_staged(staging, out_dir, lambda: (staging / CARD).write_text(text), fresh=False)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return card


def _trainer(model: Any, tokenizer: Any, data: Any, config: PreferConfig, scratch: Path,
             tracker: Tracker, progress: bool) -> Any:
    import torch
    from transformers import PrinterCallback, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    class Pretokenized(DPOTrainer):
        """Takes rows tokenized by `finetune.train.encode`, so prompts and replies are the very
        tokens SFT trained on; TRL's own tokenizing would re-render them its way."""

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            return dataset

    class Budget(TrainerCallback):
        """Stops before the step that would end past `max_seconds`, at the pace so far."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            elapsed = time.perf_counter() - self.start
            if elapsed + elapsed / max(1, state.global_step) > config.max_seconds:
                control.should_training_stop = True

    class Track(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            tracker.log({f"preference/{k}": v for k, v in (logs or {}).items()
                         if isinstance(v, int | float)} | {"preference/step": state.global_step})

    args = DPOConfig(
        output_dir=str(scratch), beta=config.beta, learning_rate=config.lr,
        num_train_epochs=config.epochs, seed=config.seed, max_length=config.max_length,
        # One pair (two sequences) per forward, accumulated to a batch: memory stays that of
        # one pair, whatever the model's size.
        per_device_train_batch_size=1, gradient_accumulation_steps=config.batch_size,
        # The base is loaded in the dtype the machine computes fastest (as SFT does); no
        # mixed-precision autocast or checkpointing on top (slower on CPU, FIELD-NOTES).
        bf16=False, activation_checkpointing=False,
        save_strategy="no", report_to="none", logging_steps=1, disable_tqdm=not progress,
        dataloader_num_workers=0, remove_unused_columns=False,
        dataloader_pin_memory=torch.accelerator.is_available())  # pinning is for a GPU's copy
    # No ref_model: TRL then copies the SFT adapter's weights into a frozen second adapter
    # ("ref") on the same base and computes reference log-probs through it. That reference is
    # exactly the SFT policy (disabling the adapter would give the base model, which SFT has
    # left behind), and costs one LoRA-sized copy, not a second model in memory.
    trainer = Pretokenized(model=model, ref_model=None, args=args, train_dataset=data,
                           processing_class=tokenizer,
                           callbacks=[Track(), *([Budget()] if config.max_seconds else [])])
    if not progress:  # without its bar the trainer prints every log line instead
        trainer.remove_callback(PrinterCallback)
    return trainer


def _encode(tokenizer: Any, pair: Pair, max_length: int) -> dict[str, list[int]] | None:
    """The pair as token ids split as SFT splits them; None when it is longer than allowed."""
    chosen = encode(tokenizer, pair.example(pair.chosen))
    rejected = encode(tokenizer, pair.example(pair.rejected))
    if max(len(chosen.input_ids), len(rejected.input_ids)) > max_length:
        return None
    n = chosen.labels.count(-100)  # the prompt's tokens, the same in both
    return {"prompt_ids": chosen.input_ids[:n], "chosen_ids": chosen.input_ids[n:],
            "rejected_ids": rejected.input_ids[n:]}


def _failed(trace: Trace, i: int) -> bool:
    """Whether the program written at step `i` failed its own check: the compile and sample
    run right after it (before any other step) say so. A step not checked there (one of
    several candidates, a repeat sampled again) has no verdict of its own: not failed."""
    for step in trace.steps[i + 1:]:
        if step.name not in TOOL_STEPS:
            return False
        if not (step.tool_result or {}).get("ok"):
            return True
    return False


def _pair(prompt: list[dict[str, str]], signature: Any, name: str, right: str | None,
          wrong: Any, source: str, question: str) -> Pair | None:
    """None when there is no program on one side (an empty reply is no reply the model wrote
    that could be rejected) or both are the same."""
    if not isinstance(wrong, str) or not wrong.strip() or not right or (
            wrong.strip() == right.strip()):
        return None
    adapter = CodeAdapter()
    chosen = adapter.format_assistant_message_content(signature, {name: right})
    rejected = adapter.format_assistant_message_content(signature, {name: wrong})
    return Pair(list(prompt), chosen, rejected, source, question)


def _key(pair: Pair) -> str:
    return json.dumps([pair.prompt, pair.chosen, pair.rejected], sort_keys=True)


def _sources(pairs: list[Pair]) -> dict[str, int]:
    counts = {"traces": 0, "drafts": 0}
    for pair in pairs:
        counts["traces" if pair.source.startswith("trace:") else "drafts"] += 1
    return counts


def _card(sft: Path) -> dict[str, Any]:
    """The SFT adapter's card (what the DPO adapter's weights were trained on before), or
    empty when it cannot be read."""
    try:
        card = json.loads((sft / CARD).read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return card if isinstance(card, dict) else {}
