"""The `devstarl` command line: the composition root, which registers every command group.

The only package that imports all the others; nothing imports it (see `devstarl/__init__.py`).
"""

from __future__ import annotations

import signal
import sys

import typer
from rich.console import Console

from devstarl import ask, bootstrap, doctor, finetune, optimize, serve, synth, tools, web
from devstarl.models import models_app
from devstarl.traces import traces_app
from tools.errors import DevstarlError

app = typer.Typer(
    help="DevStarL: answer questions over databases by writing Ibis code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tools.db_app, name="db")
app.command("ask")(ask.ask)
app.command("chat")(ask.chat)
app.add_typer(traces_app, name="traces")
app.add_typer(models_app, name="models")
app.command("synth")(synth.synth)
app.command("eval")(synth.evaluate_cmd)
app.command("optimize")(optimize.optimize)
app.command("finetune")(finetune.finetune)
app.command("learn")(finetune.learn)
app.command("bootstrap")(bootstrap.bootstrap)
app.command("serve")(serve.serve)
app.command("compile")(tools.compile_cmd)
app.command("run")(tools.run_cmd)
app.command("docs")(tools.docs_cmd)
app.command("web")(web.web)
app.command("mcp")(web.mcp)
app.command("doctor")(doctor.doctor)

err = Console(stderr=True)


def main() -> None:
    """Console entry point: our own errors become one line on stderr and exit code 1."""
    # SIGTERM unwinds like Ctrl-C would, so runs in progress still write their traces.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        app()
    except DevstarlError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        ask.forget_interrupt()  # else the exit status can be death by SIGINT, not 130
        err.print("interrupted")
        sys.exit(130)
