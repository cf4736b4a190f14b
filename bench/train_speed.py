"""LoRA training throughput of SmolLM2-135M (smollm2-135m) on this CPU: fp32 vs bf16 autocast
vs bf16 weights, side by side, on random 8 x SEQ-token batches (loss on the last 60 tokens, as
for a reply).

    .venv/bin/python bench/train_speed.py [--seq 400] [--steps 3]

Prints a table; writes bench/results/train_speed.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.lm import resolve_model  # noqa: E402

BATCH = 8
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


def seconds_per_step(mode: str, seq: int, steps: int) -> list[float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    dtype = torch.bfloat16 if mode == "bf16 weights" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2-135m"), dtype=dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated")
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS,
                                                 task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, 49_000, (BATCH, seq))
    labels = ids.clone()
    labels[:, : seq - 60] = -100
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16 autocast"):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=int, default=400)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    figures = {}
    for mode in ("fp32", "bf16 autocast", "bf16 weights"):
        times = seconds_per_step(mode, args.seq, args.steps)
        median = statistics.median(times)
        figures[mode] = {"s_per_step": round(median, 2),
                         "tokens_per_s": round(BATCH * args.seq / median, 1)}
    table = Table(title=f"LoRA r16 q/k/v/o, batch {BATCH} x {args.seq} tokens, median of "
                        f"{args.steps} steps")
    for col in ("mode", "s/step", "tokens/s"):
        table.add_column(col)
    for mode, f in figures.items():
        table.add_row(mode, str(f["s_per_step"]), str(f["tokens_per_s"]))
    Console().print(table)
    out = ROOT / "bench" / "results" / "train_speed.json"
    out.write_text(json.dumps({"batch": BATCH, "seq": args.seq, **figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
