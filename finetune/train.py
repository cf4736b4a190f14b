"""LoRA supervised fine-tuning with peft: a plain loop (on CPU it beats TRL's trainer, see
FIELD-NOTES), loss on the assistant's reply only, early stop on a dev split, an adapter card.

Prompts are rendered by the same function the in-process engine uses at inference
(`agents.lm.chat.render_chat`), so a trained adapter sees exactly the text it will be asked.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.config import check_types, show
from agents.lm import CATALOGUE, DEFAULT_MODEL, resolve_model
from agents.lm.chat import render_chat
from agents.lm.config import auto_dtype
from finetune.data import Example, data_hash
from harness.tracking import NullTracker, Tracker
from tools.errors import DevstarlError

CARD = "adapter_card.json"
PEFT_NOISE = r"`is_gradient_checkpointing` is deprecated"  # peft 0.21 on transformers 5


class TrainError(DevstarlError):
    """Training cannot start (no data, a bad base model folder, bad settings) or its adapter
    cannot be written whole (a full disk)."""


# A forward keeps the activations of every position it trains through: a batch is taken in
# parts of at most this many padded tokens, its gradients summed. Four 1,500-token prompts of
# the 0.5B in one forward passed 24 GB and were OOM-killed (student_transcripts_tracking).
MICRO_TOKENS = 2048


@dataclass(frozen=True)
class TrainConfig:
    base: str = field(default=DEFAULT_MODEL,
                      metadata={"help": "a catalogue model's name or a HF model folder"})
    rank: int = field(default=16, metadata={"help": "LoRA rank"})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # Below the lowest trained layer nothing needs a gradient, so backward stops there and a
    # step over the last K of L layers costs about (1 + 2K/L)/3 of one over all of them.
    top_layers: int = field(default=0, metadata={
        "help": "LoRA on the last K decoder layers only (0: all)"})
    lr: float = field(default=3e-4, metadata={"help": "peak learning rate"})
    epochs: int = field(default=3, metadata={"help": "most passes over the data"})
    batch_size: int = field(default=8, metadata={"help": "examples per optimizer step"})
    max_length: int = field(default=1536, metadata={"help": "longer examples are skipped"})
    dev_fraction: float = field(default=0.1, metadata={"help": "held out for early stopping"})
    patience: int = field(default=1, metadata={"help": "epochs without dev gain before stopping"})
    max_seconds: float = field(default=0.0, metadata={
        "help": "stop training after about this long (0: no limit); the learning rate decays "
                "over the steps that fit"})
    seed: int = 0

    def __post_init__(self) -> None:
        check_types(self, TrainError)
        modules = self.target_modules
        if not isinstance(modules, tuple | list) or not modules or not all(
                isinstance(m, str) and m for m in modules):
            raise TrainError(f"bad training setting target_modules={show(modules)}: a list of "
                             "module names")
        checks = {"rank": self.rank >= 1, "epochs": self.epochs >= 1,
                  "batch_size": self.batch_size >= 1, "dev_fraction": 0 <= self.dev_fraction < 1,
                  "max_seconds": self.max_seconds >= 0, "top_layers": self.top_layers >= 0}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            shown = ", ".join(f"{n}={show(getattr(self, n))}" for n in bad)
            raise TrainError(f"bad training settings: {shown}")


@dataclass
class Batch:
    ids: Any
    labels: Any
    mask: Any
    positions: Any
    keep: int  # last positions whose logits the loss needs


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]  # -100 on prompt tokens: the loss is on the reply only


def base_folder(base: str) -> Path:
    path = resolve_model(base) if base in CATALOGUE else Path(base)
    if not (path / "config.json").is_file():
        raise TrainError(f"not a Hugging Face model folder: {path}")
    return path


def encode(tokenizer: Any, example: Example) -> Encoded:
    """Prompt tokens (masked) + the reply as the chat template closes it (end-of-turn included)."""
    messages = example.messages
    prompt = render_chat(tokenizer, messages[:-1])
    if getattr(tokenizer, "chat_template", None):
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        reply = full[len(prompt):] if full.startswith(prompt) else messages[-1]["content"]
    else:
        reply = " " + messages[-1]["content"] + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    return Encoded(prompt_ids + reply_ids, [-100] * len(prompt_ids) + reply_ids)


def trained_layers(config: TrainConfig, model_config: Any) -> list[int] | None:
    """The decoder layers LoRA goes on: the last `top_layers` (None: all)."""
    n = getattr(model_config, "num_hidden_layers", None)
    if not config.top_layers or n is None or config.top_layers >= n:
        return None
    return list(range(n - config.top_layers, n))


def parent_mismatch(parent: Path, config: TrainConfig) -> str | None:
    """Why the LoRA weights in `parent` cannot be trained on further under `config`, or None
    when they can: same base model, rank, alpha, target modules and layers."""
    from agents.session import adapter_fits

    try:
        saved = json.loads((Path(parent) / "adapter_config.json").read_text())
    except (OSError, ValueError, RecursionError) as e:
        return f"its adapter_config.json cannot be read ({e})"
    if not isinstance(saved, dict):
        return "its adapter_config.json is not an object"
    if not adapter_fits(Path(parent), config.base):
        return f"it was trained on another base model than {config.base}"
    modules = saved.get("target_modules") or []  # a list, or one name or pattern
    wanted = {"r": config.rank, "lora_alpha": config.alpha,
              "target_modules": sorted(config.target_modules),
              "layers_to_transform": _layers(config)}
    found = {"r": saved.get("r"), "lora_alpha": saved.get("lora_alpha"),
             "target_modules": [modules] if isinstance(modules, str) else sorted(modules),
             "layers_to_transform": saved.get("layers_to_transform")}
    differ = [f"{k}={show(found[k])}, not {show(wanted[k])}" for k in wanted
              if found[k] != wanted[k]]
    return "its " + "; ".join(differ) if differ else None


def train(examples: list[Example], out_dir: Path, config: TrainConfig | None = None,
          tracker: Tracker | None = None, progress: bool = True,
          parent: Path | None = None) -> dict[str, Any]:
    """Train a LoRA adapter on `examples`; save it with its card in `out_dir`; return the card.

    With `parent` (an adapter folder), training goes on from its LoRA weights when they fit
    `config` (`parent_mismatch`); otherwise it starts fresh, and the card's `lineage` says why.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = config or TrainConfig()
    tracker = tracker or NullTracker()
    if not examples:
        raise TrainError("no training examples")
    base = base_folder(config.base)
    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded = [encode(tokenizer, ex) for ex in examples]
    kept = [e for e in encoded if len(e.input_ids) <= config.max_length]
    skipped = len(encoded) - len(kept)
    rng = random.Random(config.seed)
    rng.shuffle(kept)
    n_dev = int(len(kept) * config.dev_fraction) if len(kept) >= 10 else 0
    dev, training = kept[:n_dev], kept[n_dev:]
    if not training:
        raise TrainError(f"no example fits in {config.max_length} tokens")

    # Frozen base in bf16 where the CPU computes bf16 natively (the fastest mode measured on an
    # AVX512-BF16 machine, bench/train_speed.py), else fp32; LoRA weights in fp32 (peft's
    # default). The frozen weights never take a gradient step.
    model = AutoModelForCausalLM.from_pretrained(base, dtype=getattr(torch, auto_dtype()))
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM",
                      layers_to_transform=trained_layers(config, model.config))
    why_fresh = parent_mismatch(parent, config) if parent is not None else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", PEFT_NOISE, FutureWarning)
        if parent is not None and why_fresh is None:
            model = PeftModel.from_pretrained(model, parent, is_trainable=True)
        else:
            model = get_peft_model(model, lora)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(training) / config.batch_size)
    total = steps_per_epoch * config.epochs
    plan = Plan(total)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.rate)

    best, stale, step, tokens, stopped = math.inf, 0, 0, 0, None
    start = time.perf_counter()
    bar = tqdm(total=total, desc="fine-tuning", unit="step", disable=not progress)
    staging = out_dir.with_name(out_dir.name + ".training")
    for epoch in range(config.epochs):
        model.train()
        for batch in _batches(training, config.batch_size, rng):
            loss, seen = _accumulate(model, batch, pad, torch)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            tokens += seen
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", epoch=epoch + 1)
            tracker.log({"train/loss": loss, "train/lr": schedule.get_last_lr()[0],
                         "train/step": step})
            if config.max_seconds and plan.budget(step, time.perf_counter() - start,
                                                  config.max_seconds):
                stopped = f"time budget of {config.max_seconds:.0f} s"
                bar.total = step
                break
        dev_loss = _loss(model, dev, pad, torch) if dev else loss
        tracker.log({"dev/loss": dev_loss, "train/epoch": epoch + 1})
        if dev_loss < best - 1e-4:
            best, stale = dev_loss, 0
            save_staged(staging, out_dir, lambda: model.save_pretrained(staging))
        else:
            stale += 1
            if stale >= config.patience:
                stopped = stopped or "no dev gain"
                break
        if stopped:
            break
    bar.close()
    seconds = time.perf_counter() - start

    card = {
        "version": 1,
        "name": out_dir.name,
        "base_model": str(config.base),
        "data": {"hash": data_hash(examples), "size": len(examples), "skipped_too_long": skipped,
                 "train": len(training), "dev": len(dev), "sources": _sources(examples)},
        "hyperparameters": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in asdict(config).items()},
        "training": {"steps": step, "seconds": round(seconds, 1), "tokens": tokens,
                     "tokens_per_s": round(tokens / seconds, 1), "best_dev_loss": best,
                     "planned_steps": total, "stopped": stopped},
        "lineage": {"parent": str(parent) if parent is not None else None,
                    "weights": "parent" if parent is not None and why_fresh is None else "fresh",
                    "note": f"started fresh, not from the parent: {why_fresh}" if why_fresh
                    else None},
        "eval": {},
        "created_at": datetime.now(UTC).isoformat(),
    }
    text = json.dumps(card, indent=2) + "\n"
    save_staged(staging, out_dir, lambda: (staging / CARD).write_text(text), fresh=False)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return card


class Plan:
    """A linear learning-rate schedule with 5 % warm-up over the steps planned, which a time
    budget shortens once the pace is known, so the rate still decays before the stop."""

    def __init__(self, total: int):
        self.total = total

    def rate(self, step: int) -> float:
        warm = max(1, self.total // 20)
        if step < warm:
            return step / warm
        return max(0.0, (self.total - step) / max(1, self.total - warm))

    def budget(self, step: int, elapsed: float, seconds: float) -> bool:
        """Replan to the steps that fit in `seconds` at the pace so far; True when the next
        step would not fit."""
        pace = elapsed / step
        self.total = max(step, min(self.total, int(seconds / pace)))
        return elapsed + pace > seconds


def _layers(config: TrainConfig) -> list[int] | None:
    """The layers `config` trains, as the parent's adapter_config.json would list them."""
    if not config.top_layers:
        return None
    from transformers import AutoConfig

    return trained_layers(config, AutoConfig.from_pretrained(base_folder(config.base)))


def save_staged(staging: Path, out_dir: Path, write: Any, fresh: bool = True) -> None:
    """Write into the staging folder; on a full disk (or any OSError) drop it whole, so no
    half-written adapter is ever at `out_dir` to be registered."""
    try:
        if fresh:
            shutil.rmtree(staging, ignore_errors=True)
        write()
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise TrainError(f"cannot write adapter {out_dir}: {e.strerror or e}; nothing was "
                         "saved or registered") from e


def _batches(items: list[Encoded], size: int, rng: random.Random) -> list[list[Encoded]]:
    """Shuffled batches of similar lengths, so little compute goes to padding."""
    order = sorted(items, key=lambda e: len(e.input_ids))
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def _collate(batch: list[Encoded], pad: int, torch: Any) -> Batch:
    """Left-padded, so every reply ends at the last position and the replies' logits are the
    last `keep` positions' for the whole batch."""
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    first = width
    for i, e in enumerate(batch):
        n = len(e.input_ids)
        ids[i, width - n:] = torch.tensor(e.input_ids)
        labels[i, width - n:] = torch.tensor(e.labels)
        mask[i, width - n:] = 1
        taught = [j for j, label in enumerate(e.labels) if label != -100]
        if taught:
            first = min(first, width - n + taught[0])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    # the logit at position t predicts token t + 1: one more than the reply tokens
    return Batch(ids, labels, mask, positions, max(1, width - first + 1))


def _accumulate(model: Any, batch: list[Encoded], pad: int, torch: Any) -> tuple[float, int]:
    """Gradients of the batch's mean reply loss, taken a part at a time (`_parts`); returns
    that loss and the tokens the forwards read."""
    total = max(1, sum(_taught(e) for e in batch))
    loss, seen = 0.0, 0
    for part in _parts(batch):
        collated = _collate(part, pad, torch)
        summed = _batch_loss(model, collated, torch, reduction="sum")
        (summed / total).backward()
        loss += summed.item()
        seen += int(collated.mask.sum())
    return loss / total, seen


def _parts(batch: list[Encoded]) -> list[list[Encoded]]:
    """The batch cut into runs of at most MICRO_TOKENS padded tokens (one example at least)."""
    parts: list[list[Encoded]] = [[]]
    for e in batch:
        part = parts[-1]
        width = max([len(e.input_ids), *(len(x.input_ids) for x in part)])
        if part and width * (len(part) + 1) > MICRO_TOKENS:
            parts.append(part := [])
        part.append(e)
    return parts


def _taught(e: Encoded) -> int:
    """The reply tokens the loss is over (a label at position 0 has no logit before it)."""
    return sum(label != -100 for label in e.labels[1:])


def _batch_loss(model: Any, batch: Batch, torch: Any, reduction: str = "mean") -> Any:
    """Cross-entropy over the reply tokens (mean or sum), as `model(labels=...)` computes it,
    with the LM head run on the reply positions only: over a 150k vocabulary it is about a
    quarter of a 0.5B model's compute per position, and prompts are most of each example."""
    out = model(input_ids=batch.ids, attention_mask=batch.mask, position_ids=batch.positions,
                logits_to_keep=batch.keep)
    logits = out.logits[:, :-1].float()
    targets = batch.labels[:, batch.labels.shape[1] - batch.keep + 1:]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1), ignore_index=-100,
                                             reduction=reduction)


def _loss(model: Any, items: list[Encoded], pad: int, torch: Any) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(items), 8):
            total += _batch_loss(model, _collate(items[i:i + 8], pad, torch), torch).item()
            count += 1
    return total / count


def _sources(examples: list[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in examples:
        kind = ex.source.split(":", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
