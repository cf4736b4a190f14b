"""`devstarl traces`: list, show and export the trace store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tools.errors import DevstarlError

traces_app = typer.Typer(help="List, show and export traces.", no_args_is_help=True)
out = Console()

DbFilter = Annotated[str | None, typer.Option("--db", help="Only traces of this database name.")]
Verified = Annotated[bool | None, typer.Option(
    "--verified/--failed", help="Only verified (or only failed) runs.", show_default=False)]


@traces_app.command("list")
def list_traces(
    db: DbFilter = None,
    verified: Verified = None,
    limit: Annotated[int, typer.Option("-n", help="How many, newest first.")] = 20,
) -> None:
    """The newest traces, one line each."""
    from agents.traces import TraceStore

    grid = RichTable()
    for heading in ("id", "created", "db", "verified", "steps", "question"):
        grid.add_column(heading)
    for t in TraceStore().iter(db=db, verified=verified, limit=limit):
        grid.add_row(t.trace_id[:12], t.created_at[:19], t.db, "yes" if t.verified else "no",
                     str(len(t.steps)), t.question)
    out.print(grid)


@traces_app.command("show")
def show_trace(trace_id: Annotated[str, typer.Argument(help="A trace id or its prefix.")]) -> None:
    """One trace as JSON."""
    from agents.traces import TraceStore

    trace = TraceStore().get(trace_id)
    if trace is None:
        raise DevstarlError(f"no single trace matches {trace_id!r}")
    print(json.dumps(trace.to_dict(), indent=2))


@traces_app.command("export")
def export_traces(
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.")],
    db: DbFilter = None,
    verified: Verified = None,
) -> None:
    """Write traces as JSON lines, oldest first."""
    from agents.traces import TraceStore

    count = 0
    with output.open("w") as f:
        for trace in TraceStore().iter(db=db, verified=verified, newest_first=False):
            f.write(json.dumps(trace.to_dict()) + "\n")
            count += 1
    out.print(f"wrote {count} traces to {output}")
