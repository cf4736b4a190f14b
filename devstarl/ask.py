"""`devstarl ask` and `devstarl chat`: questions in, answer table + Ibis code + SQL out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table as RichTable

from agents.config import AgentConfig
from agents.lm import LMConfig
from devstarl.options import agent_options, model_options
from tools.paths import data_dir

if TYPE_CHECKING:
    from tools.database import Database

out = Console()
err = Console(stderr=True)

Db = Annotated[str | None, typer.Option("--db", help="DuckDB file, Ibis URL, or 'demo'.")]
Program = Annotated[str | None, typer.Option(
    help="An optimized program file (devstarl optimize). Default: the database's registered "
         "program, if any; 'none' for the uncompiled modules.")]


@model_options()
@agent_options()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in your words.")],
    db: Db = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the answer record.")] = False,
    show_trace: Annotated[bool, typer.Option("--show-trace", help="Print every step.")] = False,
    program: Program = None,
    *,
    config: AgentConfig,
    lm: LMConfig,
) -> None:
    """Answer a question about a database: the table, the Ibis program and its SQL."""
    from agents.session import build_agent
    from tools.errors import DevstarlError

    if not question.strip():
        raise DevstarlError("empty question")
    agent = build_agent(with_shots(db, config.shots_k), lm, config, program=program)
    prediction = agent(question=question)
    record = answer_record(prediction)
    if json_out:
        print(json.dumps(record, indent=2, default=str))
    else:
        show_answer(record, show_trace)
    if not record["ok"]:
        raise typer.Exit(2)


@model_options()
@agent_options()
def chat(
    db: Db = None,
    program: Program = None,
    *,
    config: AgentConfig,
    lm: LMConfig,
) -> None:
    """Ask questions about one database in a loop. Commands: \\schema \\code \\sql \\trace
    \\good \\bad \\[comment] \\quit.

    Ctrl-C stops the current question and returns to the prompt; Ctrl-D or \\quit leaves.
    \\good and \\bad mark the last answer; one that ran and is marked good teaches `learn`.
    """
    from agents.session import build_agent

    agent = build_agent(with_shots(db, config.shots_k), lm, config, program=program)
    _enable_history()
    out.print(f"[bold]{agent.db.name}[/bold]: ask a question, or \\help")
    last: dict[str, Any] | None = None
    while True:
        try:
            line = input("devstarl> ").strip()
        except EOFError:
            break
        except KeyboardInterrupt:
            out.print()
            continue
        if not line:
            continue
        if line.startswith("\\"):
            if line in ("\\q", "\\quit", "\\exit"):
                break
            _chat_command(line, agent, last)
            continue
        try:
            last = answer_record(agent(question=line))
        except KeyboardInterrupt:
            forget_interrupt()
            err.print("interrupted; the trace so far is saved")
            continue
        show_answer(last, show_trace=False)


def forget_interrupt() -> None:
    """Call after catching a Ctrl-C to carry on. CPython 3.11 marks a KeyboardInterrupt that
    passed through `exec` of a string as unhandled even when it is caught (dataclasses and
    namedtuples build their methods that way, so a lazy import mid-question can), and the
    interpreter then kills itself with SIGINT on its way out. The next `exec` of a string that
    succeeds clears the mark."""
    exec("None")


CHAT_HELP = "commands: \\schema  \\code  \\sql  \\trace  \\good  \\bad [comment]  \\quit"


def _chat_command(line: str, agent: Any, last: dict[str, Any] | None) -> None:
    command, *comment = line.split(maxsplit=1)
    if line == "\\schema":
        out.print(agent.schema.render(), highlight=False)
    elif command in ("\\code", "\\sql", "\\trace", "\\good", "\\bad") and last is None:
        err.print("no answer yet: ask a question first")
    elif line == "\\code":
        out.print(Syntax(last["code"] or "", "python"))
    elif line == "\\sql":
        out.print(Syntax(last["sql"] or "(no SQL: the program did not run)", "sql"))
    elif line == "\\trace":
        _show_trace(last["trace"])
    elif command in ("\\good", "\\bad"):
        # Kept beside the trace, which is never rewritten; `learn` reads the latest verdict.
        rating = "up" if command == "\\good" else "down"
        agent.store.add_feedback(last["trace"]["trace_id"], rating, *comment)
        note = "" if last["ok"] else " (it did not run, so it teaches nothing)"
        out.print(f"marked {command[1:]}{note}", markup=False, highlight=False)
    else:
        out.print(CHAT_HELP, markup=False, highlight=False)


def answer_record(prediction: Any) -> dict[str, Any]:
    """What `ask --json` prints: the answer, the program, its SQL and the whole trace."""
    from agents.pipeline import answer_fields  # loaded by the run already; --help stays light

    return {"version": 1, **answer_fields(prediction), "trace": prediction.trace.to_dict()}


def show_answer(record: dict[str, Any], show_trace: bool) -> None:
    if show_trace:
        _show_trace(record["trace"])
    if record["ok"]:
        grid = RichTable(caption=_caption(record))
        for name, dtype in zip(record["columns"], record["types"], strict=True):
            grid.add_column(f"{name}\n[dim]{dtype}[/dim]")
        for row in record["rows"]:
            grid.add_row(*("NULL" if v is None else str(v) for v in row))
        out.print(grid)
    else:
        err.print(f"[red]no verified answer:[/red] {record['error']}", highlight=False)
    out.print("[bold]Ibis[/bold]")
    out.print(Syntax(record["code"] or "", "python"))
    if record["sql"]:
        out.print("[bold]SQL[/bold]")
        out.print(Syntax(record["sql"], "sql"))


def _caption(record: dict[str, Any]) -> str:
    shown, total = len(record["rows"]), record["row_count"]
    return f"{total:,} rows" + (f", first {shown} shown" if total > shown else "")


def _show_trace(trace: dict[str, Any]) -> None:
    grid = RichTable(title=f"trace {trace['trace_id'][:12]}", title_justify="left")
    for heading in ("step", "seconds", "tokens", "result"):
        grid.add_column(heading)
    for step in trace["steps"]:
        tool = step.get("tool_result")
        if tool:
            result = "ok" if tool["ok"] else f"{tool['kind']}: {tool['error']}"
        else:
            result = "; ".join(f"{k}: {_short(v)}" for k, v in step["outputs"].items())
        grid.add_row(step["name"], f"{step['seconds']:.2f}", str(step["tokens"] or ""), result)
    out.print(grid)


def _short(value: Any, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _enable_history() -> None:
    try:
        import readline
    except ImportError:  # not on every platform; the REPL works without it
        return
    path = Path(data_dir()) / "chat_history"
    if path.exists():
        readline.read_history_file(path)
    import atexit

    atexit.register(readline.write_history_file, path)


def with_shots(db: str | None, shots: int) -> Database:
    """The database, with its bank of verified examples built on first use when asked for."""
    from finetune.shots import ensure_shots
    from tools.database import resolve

    database = resolve(db)
    if shots > 0:
        ensure_shots(database)
    return database
