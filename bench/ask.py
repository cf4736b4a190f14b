"""Wall time per question and generated tokens per second of `ask`, in-process backend, warm.

    .venv/bin/python bench/ask.py [--n 20] [--model NAME] [--adapter PATH] [--max-tokens 256]
                                  [--runtime auto] [--compare]

Questions: the first N of the demo task set's dev split (never the test split). The model is
loaded and one question answered before timing. Each answer is judged against the task's gold
program (EX), so `correct` counts right answers and `verified` answers that ran. Generation
time is split at each call's first new token: prefill tokens/s (uncached prompt tokens) and
decode tokens/s, the latter also as a share of its bound: the rate this process reads the
weights (measured over the weights themselves, all cores) over the bytes a decode step reads.
`--compare` runs llama.cpp and transformers one after the other on the same questions
(`compare`: each one's figures, the p50 speedup and how many EX points apart). Prints a
table and writes bench/results/ask.json and bench/results/ask.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from figures import save_histogram  # noqa: E402 - bench/figures.py
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, local_engine, resolve_model  # noqa: E402
from agents.lm.engine import LocalEngine  # noqa: E402
from agents.lm.llamacpp import LlamaCppEngine, gguf_file  # noqa: E402
from agents.session import build_agent  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from harness.judge import Judge  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def dev_tasks(n: int) -> list[dict]:
    tasks = [json.loads(line) for line in (ROOT / "bench/tasks/nycflights13.jsonl").read_text()
             .splitlines()]
    return [t for t in tasks if t["split"] == "dev"][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a catalogue name or folder")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder")
    parser.add_argument("--max-tokens", type=int, default=LMConfig.max_tokens)
    parser.add_argument("--rounds", type=int, default=None,
                        help="revise rounds (default: the model's, as ask uses)")
    parser.add_argument("--runtime", default=LMConfig.runtime, help=LMConfig.help()["runtime"])
    parser.add_argument("--compare", action="store_true",
                        help="also run the other runtime (transformers vs llama.cpp) on the "
                             "same questions, one after the other")
    args = parser.parse_args()

    questions = dev_tasks(args.n)
    runtimes = [args.runtime]
    if args.compare:
        runtimes = ["llama.cpp", "transformers"]
    runs = {}
    for runtime in runtimes:
        lm_config = LMConfig(model=args.model, adapter=args.adapter, max_tokens=args.max_tokens,
                             runtime=runtime, cache=False)
        runs[runtime] = measure(lm_config, args.rounds, questions)
    figures = dict(next(iter(runs.values())))
    figures.pop("seconds")
    if args.compare:
        quick, slow = runs["llama.cpp"], runs["transformers"]
        figures["compare"] = {
            name: {k: v for k, v in run.items() if k != "seconds"} for name, run in runs.items()}
        figures["compare"]["p50_speedup"] = round(slow["p50_s"] / quick["p50_s"], 2)
        figures["compare"]["ex_points_apart"] = round(
            100 * abs(quick["correct"] - slow["correct"]) / len(questions), 1)

    table = Table(title=f"ask, {len(questions)} demo dev questions, warm, in-process")
    columns = ("runtime", "p50_s", "p95_s", "prefill_tokens_per_s", "decode_tokens_per_s",
               "decode_share_of_bound", "verified", "correct")
    for key in columns:
        table.add_column(key)
    for run in runs.values():
        table.add_row(*(str(run[k]) for k in columns))
    Console().print(table)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ask.json").write_text(json.dumps(figures, indent=2) + "\n")
    series = [run["seconds"] for run in runs.values()]
    save_histogram(RESULTS / "ask.png", series, list(runs), xlabel="wall seconds per question",
                   title=f"ask latency ({figures['model']}, in-process)",
                   goal=(3.0, "goal p50 3 s"))


def measure(lm_config: LMConfig, rounds: int | None, questions: list[dict]) -> dict:
    """Answer `questions` warm with one runtime; its figures, with the raw seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        agent = build_agent(None, lm_config, AgentConfig.for_model(lm_config.model, rounds),
                            store=TraceStore(Path(tmp) / "traces.sqlite"))
        engine = local_engine(agent.draft.lm)
        engine.load()
        bandwidth = memory_bandwidth(engine)
        agent(question="How many flights are there?")  # warm: caches, sandbox, index
        judge = Judge(agent.sandbox)
        seconds, tokens, verified, correct = [], [], 0, 0
        stats_before = engine.generation_stats()
        for task in tqdm(questions, desc=type(engine).__name__, unit="q"):
            start = time.perf_counter()
            prediction = agent(question=task["question"])
            seconds.append(time.perf_counter() - start)
            tokens.append(prediction.trace.tokens)
            verified += prediction.verified
            correct += bool(prediction.verified and judge.correct(
                prediction.code, task["id"], task["gold_code"], agent.db, task["ordered"]))
        generation = engine.generation_stats().since(stats_before)
        weights = weight_bytes(engine)
        engine.close()
    bound = bandwidth / weights  # tokens/s if a decode step only read every weight once
    return {
        "n": len(questions),
        "p50_s": round(statistics.median(seconds), 2),
        "p95_s": round(statistics.quantiles(seconds, n=20, method="inclusive")[18], 2),
        "tokens_per_s": round(generation.tokens_per_second, 1),
        "prefill_tokens_per_s": round(generation.prefill_tokens_per_second, 1),
        "decode_tokens_per_s": round(generation.decode_tokens_per_second, 1),
        "decode_bound_tokens_per_s": round(bound, 1),
        "decode_share_of_bound": round(generation.decode_tokens_per_second / bound, 3),
        "weight_bytes": weights,
        "memory_read_gb_per_s": round(bandwidth / 1e9, 1),
        "backend": "local",
        "runtime": type(engine).__name__,
        "prompt_tokens_per_question": round(generation.prompt_tokens / len(questions)),
        "cached_prompt_share": round(generation.cached_prompt_tokens
                                     / max(1, generation.prompt_tokens), 3),
        "model": agent.model + (f"+{agent.adapter_name}" if agent.adapter_name else ""),
        "tokens_per_question_p50": statistics.median(tokens),
        "verified": verified,
        "correct": correct,
        "dtype": lm_config.resolved_dtype(),
        "max_tokens": lm_config.max_tokens,
        "rounds": agent.config.rounds,
        "seconds": seconds,
    }


def weight_bytes(engine: LocalEngine) -> int:
    """Bytes of weights one decode step reads: for llama.cpp the model's GGUF, less the token
    embedding table when the model has its own output matrix (a step reads one row of it);
    for transformers the parameters (their dtype; Qwen's small models tie the two, so the
    table is read whole as the output matrix)."""
    if isinstance(engine, LlamaCppEngine):
        from gguf import GGUFReader

        gguf = gguf_file(resolve_model(engine.config.model))
        tensors = {t.name: int(t.n_bytes) for t in GGUFReader(gguf).tensors}
        unread = tensors["token_embd.weight"] if "output.weight" in tensors else 0
        return sum(tensors.values()) - unread
    return sum(p.numel() * p.element_size() for p in engine._model.parameters())


def memory_bandwidth(engine: LocalEngine, repeats: int = 5) -> float:
    """Bytes per second this process reads the engine's own weights, every core reading: the
    best of `repeats` sums over them (llama.cpp: the GGUF file, mapped as llama.cpp maps it;
    transformers: the parameters). That is what bounds a decode step, which reads every weight
    once. A fresh array is no stand-in: on this project's VMs one read at 38 GB/s in one
    process and 62 in the next (placed on huge pages or not), while the weights did not."""
    import numpy as np
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    if isinstance(engine, LlamaCppEngine):
        gguf = gguf_file(resolve_model(engine.config.model))
        count = gguf.stat().st_size // 4
        # float32 words only to read the bytes fast; "c": a private mapping, never written
        parts = [torch.from_numpy(np.memmap(gguf, dtype=np.float32, mode="c", shape=(count,)))]
    else:
        parts = [p.detach() for p in engine._model.parameters()]
    size = sum(p.numel() * p.element_size() for p in parts)
    torch.set_flush_denormal(True)  # quantized blocks read as floats may be denormal: slow
    best = float("inf")
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for part in parts:
                part.sum()
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_flush_denormal(False)  # torch's default
    return size / best


if __name__ == "__main__":
    main()
