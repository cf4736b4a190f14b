"""The two tools the agent calls, `compile` and `execute_on_sample`, plus the full-data run.

All three send the program to the sandbox; none runs generated code in this process. A failure
the program caused comes back as a ToolResult; a failure of ours raises.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tools.database import Database
from tools.records import ToolResult
from tools.sample import sample_path
from tools.sandbox import Limits, Sandbox, default_sandbox
from tools.schema import Schema

PREVIEW_ROWS = 10
COMPILE_LIMITS = Limits(wall_s=5.0, cpu_s=4)
SAMPLE_LIMITS = Limits(max_rows=PREVIEW_ROWS)
FULL_LIMITS = Limits(wall_s=60.0, cpu_s=60, memory_mb=4096, duckdb_memory_mb=2048)


def compile_code(
    code: str,
    schema: Schema | dict[str, dict[str, str]],
    dialect: str = "duckdb",
    sandbox: Sandbox | None = None,
    limits: Limits = COMPILE_LIMITS,
) -> ToolResult:
    """Build the program against unbound tables and return its SQL. No data is touched."""
    tables = schema.ibis_schema() if isinstance(schema, Schema) else schema
    request = {"op": "compile", "code": code, "schema": tables, "dialect": dialect}
    return _result(request, sandbox, limits)


def execute_on_sample(code: str, db: Database, sandbox: Sandbox | None = None,
                      limits: Limits = SAMPLE_LIMITS) -> ToolResult:
    """Run the program on the database's cached sample; return a preview and the row count."""
    request = {"op": "execute", "code": code, "db_path": str(sample_path(db))}
    return _result(request, sandbox, limits)


def execute(
    code: str,
    db: Database,
    sandbox: Sandbox | None = None,
    limits: Limits = FULL_LIMITS,
    max_rows: int = PREVIEW_ROWS,
) -> ToolResult:
    """Run the program on the full data (read-only for DuckDB files); up to `max_rows` rows back.

    Other backends (an Ibis URL) are reached with the URL's credentials from the sandbox child.
    """
    target = {"db_path": str(db.path)} if db.path is not None else {"db_url": db.url}
    request = {"op": "execute", "code": code, **target}
    return _result(request, sandbox, replace(limits, max_rows=max_rows))


def _result(request: dict[str, Any], sandbox: Sandbox | None, limits: Limits) -> ToolResult:
    answer = (sandbox or default_sandbox()).request(request, limits)
    kind = answer.get("kind", "runtime_error")
    seconds = float(answer.get("seconds", 0.0))
    if kind != "ok":
        return ToolResult.failure(kind, answer.get("error", "unknown failure"), seconds)
    preview = answer.get("preview")
    if request["op"] == "compile":
        return ToolResult(True, "ok", output=answer["sql"], sql=answer["sql"], preview=preview,
                          seconds=seconds)
    return ToolResult(
        True, "ok", output=render_preview(preview, answer["rows"]), sql=answer["sql"],
        preview=preview, rows=answer["rows"], seconds=seconds,
    )


def render_preview(preview: dict[str, Any], rows: int) -> str:
    """The result as a model reads it: size, header, then one line per row."""
    columns = preview["columns"]
    shown = preview.get("rows", [])
    lines = [f"{rows} rows x {len(columns)} columns" + (f" (first {len(shown)} shown)"
                                                        if rows > len(shown) else "")]
    lines.append(" | ".join(f"{c} ({t})" for c, t in zip(columns, preview["types"], strict=True)))
    lines += [" | ".join("NULL" if v is None else str(v) for v in row) for row in shown]
    return "\n".join(lines)
