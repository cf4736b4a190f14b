"""The MCP server (official `mcp` SDK, stdio): the same Asker as the web app, as tools for an
assistant or an IDE, and each database's schema as a resource (`schema://NAME`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import wraps
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from service.answers import clean
from service.asker import Asker
from tools.errors import DevstarlError

INSTRUCTIONS = """Answers questions over the databases listed by list_databases by writing an
Ibis program with a local model, checking it in a sandbox and running it read-only. `ask`
returns the answer table, the program, its SQL and a trace id; `run_ibis` runs a program of
your own (Python statements over the tables, `ibis` and `_`; the last expression is the
result) through the same sandbox. Each schema is the resource schema://NAME."""

T = TypeVar("T")


class Answer(BaseModel):
    ok: bool = Field(description="whether a verified program answered the question")
    error: str | None = Field(description="why there is no verified answer")
    columns: list[str] | None
    types: list[str] | None
    rows: list[list[Any]] | None = Field(description="the first rows of the answer")
    row_count: int | None = Field(description="rows in the whole answer")
    code: str | None = Field(description="the Ibis program")
    sql: str | None = Field(description="its SQL for the database's engine")
    trace_id: str = Field(description="the stored trace of every step")


class RunResult(BaseModel):
    ok: bool
    kind: str = Field(description="ok, compile_error, runtime_error, timeout, memory or rejected")
    error: str | None
    output: str | None = Field(description="the result as text: size, header, rows")
    sql: str | None
    row_count: int | None


def _refusals(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Our one-line errors reach the client as the tool's error text (the SDK hides others)."""

    @wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except DevstarlError as e:
            raise ToolError(str(e).strip().splitlines()[0]) from e

    return call


def create_server(asker: Asker) -> MCPServer:
    server = MCPServer("devstarl", instructions=INSTRUCTIONS)
    catalog = asker.catalog

    @server.tool()
    async def list_databases() -> list[dict[str, Any]]:
        """The databases this server answers on, with their tables and columns."""
        return catalog.describe()

    @server.tool()
    @_refusals
    async def describe_table(table: str, db: str | None = None) -> dict[str, Any]:
        """One table: columns with types and common values, row count, keys."""
        return asdict(catalog.get(db).schema.table(table))

    @server.tool()
    @_refusals
    async def ask(question: str, db: str | None = None) -> Answer:
        """Answer a question about a database (default: the first): the answer table, the
        Ibis program that computed it, its SQL and the trace id. Takes a minute or so."""
        record = clean(await asyncio.wrap_future(asker.submit(db, question)))
        return Answer(**{k: record[k] for k in Answer.model_fields})

    @server.tool()
    @_refusals
    async def run_ibis(code: str, db: str | None = None, full: bool = False) -> RunResult:
        """Run an Ibis program in the sandbox, on the database's fixed sample (full=false) or
        on all its data, read-only."""
        result = await asyncio.to_thread(asker.run_ibis, code, db, full)
        return RunResult(ok=result.ok, kind=result.kind, error=result.error or None,
                         output=result.output or None, sql=result.sql, row_count=result.rows)

    for name in catalog.names:
        server.resource(f"schema://{name}", name=f"{name} schema", mime_type="text/plain",
                        description=f"Tables, columns, types, keys and values of {name}"
                        )(_schema_reader(asker, name))
    return server


def _schema_reader(asker: Asker, name: str) -> Callable[[], str]:
    def read() -> str:
        return asker.catalog.get(name).schema.render()

    return read
