"""Wall time per question and generated tokens per second of `ask`, in-process backend, warm.

    .venv/bin/python bench/ask.py [--n 20] [--model NAME] [--adapter PATH] [--max-tokens 256]
                                  [--runtime auto]

Questions: the first N of the demo task set's dev split (never the test split). The model is
loaded and one question answered before timing. Each answer is judged against the task's gold
program (EX), so `correct` counts right answers and `verified` answers that ran. Prints a table
and writes bench/results/ask.json and bench/results/ask.png.
"""

from __future__ import annotations

import argparse
import json
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
from agents.lm import DEFAULT_MODEL, LMConfig, local_engine  # noqa: E402
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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runtime", default=LMConfig.runtime, help=LMConfig.help()["runtime"])
    args = parser.parse_args()

    lm_config = LMConfig(model=args.model, adapter=args.adapter, max_tokens=args.max_tokens,
                         runtime=args.runtime, cache=False)
    with tempfile.TemporaryDirectory() as tmp:
        agent = build_agent(None, lm_config, AgentConfig(rounds=args.rounds),
                            store=TraceStore(Path(tmp) / "traces.sqlite"))
        engine = local_engine(agent.draft.lm)
        engine.load()
        agent(question="How many flights are there?")  # warm: caches, sandbox, index
        questions = dev_tasks(args.n)
        judge = Judge(agent.sandbox)
        seconds, tokens, verified, correct = [], [], 0, 0
        stats_before = engine.generation_stats()
        for task in tqdm(questions, desc="questions", unit="q"):
            start = time.perf_counter()
            prediction = agent(question=task["question"])
            seconds.append(time.perf_counter() - start)
            tokens.append(prediction.trace.tokens)
            verified += prediction.verified
            correct += bool(prediction.verified and judge.correct(
                prediction.code, task["id"], task["gold_code"], agent.db, task["ordered"]))
        generation = engine.generation_stats().since(stats_before)

    figures = {
        "n": len(questions),
        "p50_s": round(statistics.median(seconds), 2),
        "p95_s": round(statistics.quantiles(seconds, n=20, method="inclusive")[18], 2),
        "tokens_per_s": round(generation.tokens_per_second, 1),
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
        "max_tokens": args.max_tokens,
        "rounds": args.rounds,
    }
    table = Table(title=f"ask, {len(questions)} demo questions, warm, in-process")
    for key in figures:
        table.add_column(key)
    table.add_row(*(str(v) for v in figures.values()))
    Console().print(table)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ask.json").write_text(json.dumps(figures, indent=2) + "\n")
    save_histogram(RESULTS / "ask.png", [seconds], ["ask"], xlabel="wall seconds per question",
                   title=f"ask latency ({figures['model']}, in-process)",
                   goal=(3.0, "goal p50 3 s"))


if __name__ == "__main__":
    main()
