"""`devstarl bootstrap`: verified tasks for a database from its schema, as a task file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
) -> None:
    """Sample Ibis programs over the database's schema, run each in the sandbox, keep those
    with meaningful new results and phrase each as a question."""
    from finetune.bootstrap import bootstrap as run
    from finetune.bootstrap import write_tasks
    from harness.tasks import resolve_db

    found = run(resolve_db(db), n=n, seed=seed, budget=budget, db_name=db, progress=progress)
    write_tasks(found.tasks, output)
    out.print(f"{len(found.tasks)} verified tasks ({found.tried} programs executed, "
              f"{found.seconds:.0f} s) -> {output}", highlight=False)
    if len(found.tasks) < n:
        out.print(f"[yellow]fewer than {n}: the sampler ran out of new results within its "
                  f"budget ({budget:g} x {n} programs)[/yellow]")
