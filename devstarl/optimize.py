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
from devstarl.options import ROUNDS_HELP, model_options

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
    candidates: Annotated[int, typer.Option(
        help="random-search: candidate programs; mipro: instruction and demo-set candidates "
             "per module.")] = 4,
    trials: Annotated[int, typer.Option(help="mipro: Bayesian-search trials.")] = 6,
    minibatch: Annotated[int, typer.Option(
        help="mipro: dev tasks per trial (a full dev pass every 5 trials).")] = 8,
    metric_calls: Annotated[int, typer.Option(
        help="gepa: program runs in all, its dev passes included.")] = 80,
    auto: Annotated[str | None, typer.Option(
        help="mipro/gepa: DSPy's preset budget (light, medium, heavy) instead of --trials, "
             "--minibatch, --candidates and --metric-calls; light runs many times more calls "
             "than the defaults.")] = None,
    log_dir: Annotated[Path | None, typer.Option(
        help="gepa: folder for its state; run again with the same folder to resume a killed "
             "run.")] = None,
    threads: Annotated[int, typer.Option(
        help="Tasks evaluated at once (use several with a server backend).")] = 1,
    limit: Annotated[int | None, typer.Option(help="At most N train and N dev tasks.")] = None,
    prompt_model: Annotated[str | None, typer.Option(
        help="mipro/gepa: the prompt/reflection model: a catalogue name or model folder, run "
             "in this process (e.g. qwen2.5-coder-1.5b), or with --prompt-api-base the "
             "name a server serves.")] = None,
    prompt_api_base: Annotated[str | None, typer.Option(
        help="mipro/gepa: the prompt model's OpenAI-compatible endpoint, with /v1.")] = None,
    rounds: Annotated[int | None, typer.Option(help=ROUNDS_HELP)] = None,
    *,
    lm: LMConfig,
) -> None:
    """Compile the pipeline's modules with a DSPy optimizer, metric = EX on the train tasks,
    and save the program (instructions + demos, as JSON) with a card of its dev scores.

    The test split is never used: tasks of a test split are refused."""
    from agents.config import AgentConfig
    from agents.lm import make_lm
    from agents.programs import new_program_path, register_program, save_program
    from agents.session import build_agent, model_label, with_registered_adapter
    from harness.judge import Judge
    from harness.optimize import OptimizeConfig, require_prompt_model
    from harness.optimize import optimize as run_optimize
    from harness.tasks import resolve_db
    from harness.tracking import start_run

    require_prompt_model(optimizer, bool(prompt_model))  # before any model or data loads
    config = OptimizeConfig(optimizer=optimizer, max_demos=max_demos, candidates=candidates,
                            trials=trials, minibatch=minibatch, metric_calls=metric_calls,
                            auto=auto, threads=threads,
                            log_dir=str(log_dir) if log_dir else None)
    database = resolve_db(db)
    train_tasks = _tasks(train, "train", database.name)[:limit]
    dev_tasks = _tasks(dev, "dev", database.name)[:limit]
    prompt_lm = make_lm(prompt_config(prompt_model, prompt_api_base)) if prompt_model else None
    lm = with_registered_adapter(replace(lm, cache=False), database.name).validate()
    agent_config = AgentConfig.for_model(lm.model, rounds=rounds)
    agent = build_agent(database, lm, agent_config, program="none")
    run = start_run("optimize", {"db": database.name, **config.__dict__,
                                 "lm": lm.to_dict(), "train_n": len(train_tasks),
                                 "dev_n": len(dev_tasks)})
    try:
        compiled, report = run_optimize(agent, train_tasks, dev_tasks, config,
                                        Judge(agent.sandbox), prompt_lm, tracker=run)
        run.summary({k: v for k, v in report.items() if isinstance(v, int | float)})
    finally:
        run.finish()
    path = output or new_program_path(database.name, optimizer)
    card = {**report, "db": database.name, "model": model_label(lm), "prompt_model": prompt_model,
            "adapter": lm.adapter, "rounds": agent_config.rounds, "max_tokens": lm.max_tokens,
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


def prompt_config(model: str, api_base: str | None) -> LMConfig:
    """The prompt/reflection model: served when an endpoint is given, else in this process.
    It samples (temperature 1) so that MIPROv2's instruction candidates differ."""
    backend = "server" if api_base else "local"
    return LMConfig(backend=backend, model=model, api_base=api_base, max_tokens=1024,
                    temperature=1.0).validate()


def _tasks(path: Path, split: str, db_name: str):
    from harness.tasks import load_tasks, resolve_db

    tasks = load_tasks(path)
    if any(t.split for t in tasks):
        tasks = [t for t in tasks if t.split == split]
    return [t for t in tasks if resolve_db(t.db).name == db_name]
