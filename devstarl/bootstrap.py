"""`devstarl bootstrap`: verified tasks for a database from its schema, as a task file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    import dspy

out = Console(stderr=True)


def bootstrap(
    output: Annotated[Path, typer.Option("-o", "--output", help="Task file to write (JSONL).")],
    db: Annotated[str, typer.Option(
        "--db", help="'demo', a sample database's name (e.g. concert_singer), a DuckDB file or "
                     "an Ibis URL.")] = "demo",
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Tasks to keep.")] = 300,
    seed: Annotated[int, typer.Option(help="Sampling seed: the same seed gives the same file.")]
    = 0,
    budget: Annotated[float, typer.Option(
        min=1.0, help="Programs executed at most, as a multiple of N.")] = 5.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    natural: Annotated[bool, typer.Option(
        "--natural/--no-natural",
        help="Have a model rewrite each question as a person would ask it (terse, "
             "conversational or in everyday words, drawn with the seed) and keep only the "
             "rewrites the pipeline then answers right: the file holds those alone. Decisions "
             "are cached beside it (<output>.naturalize.jsonl), so a rerun goes on where it "
             "stopped.")] = False,
    verbalizer: Annotated[str | None, typer.Option(
        "--verbalizer", metavar="MODEL",
        help="With --natural: the model that rewrites the questions and answers them back (a "
             "catalogue name or a model folder). Default: qwen2.5-coder-1.5b when installed, "
             "else the default model.")] = None,
) -> None:
    """Sample Ibis programs over the database's schema, run each in the sandbox, keep those
    with meaningful new results and phrase each as a question."""
    from finetune.bootstrap import bootstrap as run
    from finetune.bootstrap import write_tasks
    from harness.tasks import resolve_db

    lm = _verbalizer_lm(verbalizer) if natural else None  # a missing model fails before work
    found = run(resolve_db(db), n=n, seed=seed, budget=budget, db_name=db, progress=progress)
    tasks = found.tasks
    out.print(f"{len(found.tasks)} verified tasks ({found.tried} programs executed, "
              f"{found.seconds:.0f} s)" + ("" if natural else f" -> {output}"), highlight=False)
    if len(found.tasks) < n:
        out.print(f"[yellow]fewer than {n}: the sampler ran out of new results within its "
                  f"budget ({budget:g} x {n} programs)[/yellow]")
    if lm is not None:
        from finetune.naturalize import cache_path, naturalize

        done = naturalize(tasks, cache_path(output), lm, seed=seed, progress=progress)
        tasks = done.tasks
        dropped = ", ".join(f"{k} {v}" for k, v in done.reasons.most_common())
        out.print(f"{len(tasks)} of {len(done.rewrites)} rewritten questions answered right "
                  f"({done.reused} from the cache, {done.seconds:.0f} s"
                  + (f"; dropped: {dropped}" if dropped else "") + f") -> {output}",
                  highlight=False)
    write_tasks(tasks, output)


def _verbalizer_lm(model: str | None) -> dspy.LM:
    from agents.lm import LMConfig, make_lm
    from finetune.naturalize import verbalizer_model

    return make_lm(LMConfig(model=model or verbalizer_model()))
