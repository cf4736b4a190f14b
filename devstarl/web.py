"""`devstarl web` (the page and the JSON API) and `devstarl mcp` (an MCP server over stdio)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from agents.config import AgentConfig
from agents.lm import LMConfig
from devstarl.options import agent_options, model_options
from tools.stopping import stop_on_signals

err = Console(stderr=True)

SHUTDOWN_S = 1  # seconds open connections get to finish once a stop is asked for

Dbs = Annotated[list[str] | None, typer.Option(
    "--db", help="A database to answer on (repeatable): DuckDB file, Ibis URL or 'demo' "
                 "(default). Requests choose among these by name only.")]
Workers = Annotated[int, typer.Option(help="Questions worked on at once.")]
Queue = Annotated[int, typer.Option(help="Questions waiting beyond those; more get a 503.")]
Program = Annotated[str | None, typer.Option(
    help="An optimized program file; default: each database's registered one; 'none'.")]


def _asker(dbs: list[str] | None, lm: LMConfig, config: AgentConfig, workers: int, queue: int,
           program: str | None):  # noqa: ANN202 - service.asker.Asker, imported lazily
    from agents.lm import make_lm
    from agents.session import with_registered_adapter
    from service.asker import Asker
    from service.catalog import Catalog

    catalog = Catalog(dbs)
    if len(catalog.names) == 1:  # one shared LM: a registered adapter fits only one database
        lm = with_registered_adapter(lm, catalog.default)
    lm = lm.validate()
    return Asker(catalog, make_lm(lm), lm, config, workers=workers, queue=queue,
                 program=program)


@model_options()
@agent_options()
def web(
    db: Dbs = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    token: Annotated[str | None, typer.Option(
        envvar="DEVSTARL_TOKEN", help="Bearer token every API request must send; required "
                                      "to listen beyond loopback.")] = None,
    workers: Workers = 2,
    queue: Queue = 8,
    program: Program = None,
    *,
    config: AgentConfig,
    lm: LMConfig,
) -> None:
    """Serve the web page and the JSON API (OpenAPI at /docs) until Ctrl-C or SIGTERM, which
    stop it within seconds (exit status 130 or 143); questions in flight are abandoned."""
    # uvicorn takes the signals while it serves: it closes connections (for at most
    # SHUTDOWN_S), then raises the signal again, and tools.stopping ends the rest: the
    # question threads without waiting for them, and the sandboxes.
    stop_on_signals()
    import uvicorn

    from service.web import check_bind, create_app

    check_bind(host, token)
    asker = _asker(db, lm, config, workers, queue, program)
    try:
        shown = f"http://{host}:{port}/" + (f"#token={token}" if token else "")
        err.print(f"DevStarL on {shown} ({', '.join(asker.catalog.names)}); Ctrl-C stops")
        uvicorn.run(create_app(asker, token), host=host, port=port, log_level="warning",
                    timeout_graceful_shutdown=SHUTDOWN_S)
    finally:
        asker.close()


@model_options()
@agent_options()
def mcp(
    db: Dbs = None,
    workers: Workers = 1,
    queue: Queue = 8,
    program: Program = None,
    *,
    config: AgentConfig,
    lm: LMConfig,
) -> None:
    """Serve MCP over stdio: tools list_databases, describe_table, ask, run_ibis; resources
    schema://NAME. Point an MCP client at `devstarl mcp [--db DB ...]`. Ctrl-C or SIGTERM stop
    it within seconds (exit status 130 or 143); a question in flight is abandoned."""
    stop_on_signals()  # the sandboxes run in sessions of their own: nothing else would end them
    from service.mcp_server import create_server

    asker = _asker(db, lm, config, workers, queue, program)
    try:
        create_server(asker).run("stdio")
    finally:
        asker.close()
