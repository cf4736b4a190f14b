"""`devstarl optimize`: compile the pipeline's prompts with a DSPy optimizer against EX."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agents.config import NEEDS_PROMPT_MODEL, OPTIMIZERS
from agents.lm import LMConfig
from devstarl.ask import Rounds
from devstarl.options import model_options

out = Console()
err = Console(stderr=True)

_LOCAL_OK = ", ".join(o for o in OPTIMIZERS if o not in NEEDS_PROMPT_MODEL)


@model_options(max_tokens=160)
def optimize(
    db: Annotated[str, typer.Option("--db", help="DuckDB file, Ibis URL, or 'demo'.")],
    train: Annotated[Path, typer.Option(help="Task file: its train split, or all its tasks "
                                             "when it has no splits.")],
    dev: Annotated[Path, typer.Option(help="Task file: its dev split, or all its tasks when "
                                           "it has no splits.")],
    optimizer: Annotated[str, typer.Option(
        help=f"One of {', '.join(OPTIMIZERS)}. With the local model alone: {_LOCAL_OK} "
             f"({' and '.join(NEEDS_PROMPT_MODEL)} need --prompt-model: a model strong enough "
             "to write instructions or reflect on feedback).")] = "bootstrap",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Program file (default: <data>/programs/<db>/).")] = None,
    register: Annotated[bool, typer.Option(
        help="Make it the database's program (ask and synth load it) when it beats the "
             "uncompiled program on dev.")] = True,
    max_demos: Annotated[int, typer.Option(help="Bootstrapped demos per module.")] = 2,
    candidates: Annotated[int, typer.Option(help="random-search: candidate programs.")] = 4,
    auto: Annotated[str, typer.Option(help="mipro/gepa budget: light, medium, heavy.")] = "light",
    threads: Annotated[int, typer.Option(
        help="Tasks evaluated at once (use several with a server backend).")] = 1,
    limit: Annotated[int | None, typer.Option(help="At most N train and N dev tasks.")] = None,
    prompt_model: Annotated[str | None, typer.Option(
        help="mipro/gepa: the served name of the prompt/reflection model.")] = None,
    prompt_api_base: Annotated[str | None, typer.Option(
        help="mipro/gepa: its OpenAI-compatible endpoint, with /v1.")] = None,
    rounds: Rounds = 2,
    *,
    lm: LMConfig,
) -> None:
    """Compile the pipeline's modules with a DSPy optimizer, metric = EX on the train tasks,
    and save the program (instructions + demos, as JSON) with a card of its dev scores.

    The test split is never used: tasks of a test split are refused."""
    from agents.config import AgentConfig
    from agents.lm import LMConfig, make_lm
    from agents.programs import new_program_path, register_program, save_program
    from agents.session import build_agent, model_label, with_registered_adapter
    from harness.judge import Judge
    from harness.optimize import OptimizeConfig, require_prompt_model
    from harness.optimize import optimize as run_optimize
    from harness.tasks import resolve_db
    from harness.tracking import start_run

    require_prompt_model(optimizer, bool(prompt_model))  # before any model or data loads
    config = OptimizeConfig(optimizer=optimizer, max_demos=max_demos, candidates=candidates,
                            auto=auto, threads=threads)
    database = resolve_db(db)
    train_tasks = _tasks(train, "train", database.name)[:limit]
    dev_tasks = _tasks(dev, "dev", database.name)[:limit]
    prompt_lm = None
    if prompt_model:
        prompt_lm = make_lm(LMConfig(backend="server", model=prompt_model,
                                     api_base=prompt_api_base, max_tokens=2048, temperature=1.0))
    lm = with_registered_adapter(replace(lm, cache=False), database.name).validate()
    agent = build_agent(database, lm, AgentConfig(rounds=rounds), program="none")
    run = start_run("optimize", {"db": database.name, **config.__dict__,
                                 "lm": lm.to_dict(), "train_n": len(train_tasks),
                                 "dev_n": len(dev_tasks)})
    try:
        compiled, report = run_optimize(agent, train_tasks, dev_tasks, config,
                                        Judge(agent.sandbox), prompt_lm)
        run.summary({k: v for k, v in report.items() if isinstance(v, int | float)})
    finally:
        run.finish()
    path = output or new_program_path(database.name, optimizer)
    card = {**report, "db": database.name, "model": model_label(lm),
            "adapter": lm.adapter, "rounds": rounds, "max_tokens": lm.max_tokens,
            "train": str(train), "dev": str(dev)}
    save_program(compiled, path, card)
    wins = report["dev_ex"] > report["dev_ex_before"]
    if register and wins:
        register_program(database.name, path, {"dev_ex": report["dev_ex"]})
    out.print(json.dumps({k: card[k] for k in ("optimizer", "dev_ex_before", "dev_ex",
                                                "optimize_s", "demos")}))
    verdict = "registered for " + database.name if register and wins else (
        "not registered: it does not beat the uncompiled program on dev" if not wins
        else "not registered (--no-register)")
    out.print(f"program saved to {path}; {verdict}")


def _tasks(path: Path, split: str, db_name: str):
    from harness.tasks import load_tasks, resolve_db

    tasks = load_tasks(path)
    if any(t.split for t in tasks):
        tasks = [t for t in tasks if t.split == split]
    return [t for t in tasks if resolve_db(t.db).name == db_name]
