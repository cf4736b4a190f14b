"""What runs inside the forked sandbox child: check the program, run it, report a result dict.

Imported by the warm sandbox server, so `ibis`, `duckdb` and `pyarrow` are already loaded when a
child is forked. Never import this in the main process to run code.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import datetime as dt
import decimal
import math
import os
import resource
import time
import types
import urllib.parse
import uuid
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.selectors
import pyarrow as pa

from tools.engines import connect as engine_connect
from tools.engines import dialect as engine_dialect
from tools.policy import SAFE_BUILTINS, PolicyViolation, check, denied_attribute

MAX_CELL_CHARS = 200
MAX_COLUMNS = 100  # columns shown in a preview; the schema lists them all
MAX_ERROR_CHARS = 600


class ProgramError(Exception):
    """A failure the program caused, with the ToolResult kind it maps to."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# Public names kept out of the `ibis` stand-in: SQL parsing, downloads, code generation and
# the backend base class.
_HIDDEN = frozenset({"selectors", "_", "parse_sql", "examples", "decompile", "BaseBackend"})


def _namespace_of(module: types.ModuleType, names: list[str]) -> types.SimpleNamespace:
    """A module stand-in exposing only `names`, and of those only ibis's own functions and
    classes: modules leak their own imports (`ibis.selectors.builtins` is Python's builtins)."""
    kept = {}
    for name in names:
        value = getattr(module, name, None)
        if value is None or isinstance(value, types.ModuleType) or denied_attribute(name):
            continue
        if not str(getattr(value, "__module__", "ibis")).startswith("ibis"):
            continue
        kept[name] = value
    return types.SimpleNamespace(**kept)


_SELECTORS = _namespace_of(ibis.selectors, [n for n in dir(ibis.selectors) if n.islower()])
_IBIS = _namespace_of(ibis, [n for n in ibis.__all__ if n not in _HIDDEN])
_IBIS.selectors = _SELECTORS
_BUILTINS = {name: getattr(builtins, name) for name in SAFE_BUILTINS}


def prepare(req: dict[str, Any]) -> None:
    """In the server, before the fork: import the Ibis backend the request needs (another
    engine's, or the one a dialect's compiler reads its options from). A child could not start
    the processes loading one may take (ctypes' find_library runs ldconfig to find libpq), and
    every later child gets it for free. A backend that is not installed is the child's to
    report."""
    if req.get("op") == "execute":
        name = engine_dialect(req.get("db_url"))
    else:
        name = str(req.get("dialect", "duckdb"))
    if name != "duckdb" and name.isidentifier():
        with contextlib.suppress(ImportError, AttributeError):
            getattr(ibis, name)  # loads the backend and registers its options


def apply_limits(cpu_s: int, memory_mb: int) -> None:
    """Kernel limits for this process; inherited by anything it could start."""
    with open("/proc/self/statm") as f:
        vsz_pages = int(f.read().split()[0])
    base = vsz_pages * resource.getpagesize()
    address_space = base + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # any file write is killed by SIGXFSZ
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # not enforced for root; see sandbox.py


# Set by the server from its environment, which only `Sandbox(unchecked_for_tests=True)` sets:
# programs then skip the allow-list and get every builtin, so tests can show that the kernel
# layers (tools.confine) stop them on their own.
UNCHECKED = os.environ.get("DEVSTARL_SANDBOX_UNCHECKED_FOR_TESTS") == "1"


def reach(req: dict[str, Any]) -> tuple[list[str], bool]:
    """The files the request may read, and whether it needs the network."""
    if req.get("db_path"):
        path = req["db_path"]
        return [path, path + ".wal"], False
    url = req.get("db_url")
    if url:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme in ("sqlite", "duckdb"):  # a file named by a URL
            return [urllib.parse.unquote(parsed.netloc + parsed.path)], False
        return [], True
    return [], False


def evaluate(code: str, tables: dict[str, Any]) -> Any:
    """Run the checked program with only the tables, `ibis` and `_` in scope; return its value."""
    try:
        tree = ast.parse(code, "<program>", "exec") if UNCHECKED else check(code)
    except SyntaxError as e:
        raise ProgramError("compile_error", f"SyntaxError: {e.msg} (line {e.lineno})") from None
    except ValueError as e:  # e.g. null bytes in the source
        raise ProgramError("compile_error", f"SyntaxError: {e}") from None
    except PolicyViolation as e:
        raise ProgramError("rejected", f"rejected: {e}") from None
    body = tree.body
    last_value = None
    if body and isinstance(body[-1], ast.Expr):
        last_value = ast.Expression(body=body.pop().value)
    scope: dict[str, Any] = {"__builtins__": builtins.__dict__ if UNCHECKED else _BUILTINS,
                             "ibis": ibis if UNCHECKED else _IBIS, "_": ibis._, **tables}
    try:
        exec(compile(tree, "<program>", "exec"), scope)
        if last_value is not None:
            value = eval(compile(last_value, "<program>", "eval"), scope)
        elif "result" in scope:
            value = scope["result"]
        else:
            raise ProgramError(
                "compile_error", "the program has no value: end with an expression or set `result`"
            )
    except ProgramError:
        raise
    except MemoryError:
        raise ProgramError("memory", "MemoryError: the program ran out of memory") from None
    except NameError as e:
        known = ", ".join(sorted(tables))
        raise ProgramError("compile_error", f"{error_line(e)} (tables: {known})") from None
    except Exception as e:  # noqa: BLE001 - anything the program raised is its own error
        raise ProgramError("compile_error", error_line(e)) from None
    expr = as_table(value)
    _check_sources(expr, tables)
    return expr


def _check_sources(expr: ibis.Table, tables: dict[str, Any]) -> None:
    """Every table the program reads must be one it was given (or data it wrote inline): a
    table made by name could name DuckDB's catalog (`duckdb_databases`, `information_schema`)."""
    given = {t.op() for t in tables.values()}
    for node in expr.op().find((ops.PhysicalTable, ops.SQLQueryResult, ops.SQLStringView)):
        if node in given or isinstance(node, ops.InMemoryTable):
            continue
        name = getattr(node, "name", type(node).__name__)
        raise ProgramError(
            "rejected", f"rejected: table {name!r} is not one of the tables in scope "
            f"({', '.join(sorted(tables))}); use them by name"
        )


def as_table(value: Any) -> ibis.Table:
    if isinstance(value, ibis.Table):
        return value
    if isinstance(value, ibis.Column | ibis.Scalar):
        return value.as_table()
    raise ProgramError(
        "compile_error",
        f"the program's value is a {type(value).__name__}, not an ibis table, column or scalar",
    )


def error_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    text = f"{type(e).__name__}: {' '.join(lines[:3])}" if lines else type(e).__name__
    return text[:MAX_ERROR_CHARS]


def run_compile(req: dict[str, Any]) -> dict[str, Any]:
    tables = {
        name: ibis.table(ibis.schema(columns), name=name) for name, columns in req["schema"].items()
    }
    expr = evaluate(req["code"], tables)
    try:
        sql = ibis.to_sql(expr, dialect=req.get("dialect", "duckdb"))
    except Exception as e:  # noqa: BLE001
        raise ProgramError("compile_error", error_line(e)) from None
    return {"sql": str(sql), "preview": _schema_preview(expr)}


def connect_read_only(path: str, memory_mb: int) -> Any:
    """A read-only DuckDB connection that cannot reach files, extensions or its own settings."""
    con = duckdb.connect(
        path,
        read_only=True,
        config={
            "threads": 1,
            "memory_limit": f"{memory_mb}MB",
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "temp_directory": "",
        },
    )
    backend = ibis.duckdb.from_connection(con)  # sets the session timezone, so lock after it
    con.execute("SET lock_configuration = true")
    return backend


def connect_url(url: str, wall_s: float) -> Any:
    """A connection to another engine, its session read-only with each statement bounded a
    little under the wall-clock limit, so the engine stops a long query and says so, where the
    engine takes such settings (`tools.engines`)."""
    try:
        return engine_connect(url, max(0.5, 0.8 * wall_s))
    except Exception as e:  # noqa: BLE001 - resolve() connected before: the server went away
        raise ProgramError("runtime_error", f"cannot connect: {error_line(e)}") from None


def run_execute(req: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    if req.get("db_url"):  # another Ibis backend: read-only access is the database role's job
        backend = connect_url(req["db_url"], req["wall_s"])
    else:
        backend = connect_read_only(req["db_path"], req["duckdb_memory_mb"])
    tables = {name: backend.table(name) for name in backend.list_tables()}
    expr = evaluate(req["code"], tables)
    try:
        sql = str(ibis.to_sql(expr))  # in the engine's dialect: the tables are bound to it
    except Exception as e:  # noqa: BLE001
        raise ProgramError("compile_error", error_line(e)) from None
    keep = req["max_rows"]
    fetch = _fetch_remote if req.get("db_url") else _fetch_batches
    try:
        table, total = fetch(backend, expr, keep)
    except (MemoryError, duckdb.OutOfMemoryException) as e:
        raise ProgramError("memory", error_line(e)) from None
    except Exception as e:  # noqa: BLE001
        if type(e).__name__ == "QueryCanceled":  # PostgreSQL's statement_timeout
            raise ProgramError("timeout", f"timeout: {error_line(e)}") from None
        raise ProgramError("runtime_error", error_line(e)) from None
    rows = table.to_pylist()
    preview = _schema_preview(expr)
    names = table.schema.names[:MAX_COLUMNS]
    preview["rows"] = [[json_value(r[c]) for c in names] for r in rows]
    preview["truncated"] = total > keep
    return {"sql": sql, "preview": preview, "rows": total, "run_s": time.perf_counter() - t0}


def _fetch_batches(backend: Any, expr: ibis.Table, keep: int) -> tuple[pa.Table, int]:
    """DuckDB: stream the result, keep its first `keep` rows and count the rest."""
    kept: list[pa.RecordBatch] = []
    total = 0
    reader = backend.to_pyarrow_batches(expr, chunk_size=10_000)
    for batch in reader:
        if total < keep:
            kept.append(batch.slice(0, keep - total))
        total += batch.num_rows
    if not kept:
        return reader.schema.empty_table(), total
    return _as_declared(pa.Table.from_batches(kept), reader.schema), total


def _fetch_remote(backend: Any, expr: ibis.Table, keep: int) -> tuple[pa.Table, int]:
    """Another engine: only the first `keep` rows cross, converted by the backend's own
    `execute` (PostgreSQL's numeric averages come back as Decimals, which its Arrow batches
    refuse as float64). One query when the result is that small, else the engine counts."""
    frame = backend.execute(expr, limit=keep + 1)
    total = len(frame)
    if total > keep:
        total = int(backend.execute(expr.count()))
        frame = frame.iloc[:keep]
    schema = expr.schema().to_pyarrow()
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN and NaT become NULL
    return _as_declared(table, schema), total


def _as_declared(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """DuckDB's batches may differ from the schema ibis declares (decimal sums, int32 date parts,
    nullability); show values in the declared types where they convert."""
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return table


def _schema_preview(expr: ibis.Table) -> dict[str, Any]:
    schema = expr.schema()
    names = [json_value(n) for n in schema.names[:MAX_COLUMNS]]
    types = [json_value(str(t)) for t in schema.types[:MAX_COLUMNS]]
    return {"columns": names, "types": types, "n_columns": len(schema.names)}


def json_value(v: Any) -> Any:
    """A JSON-safe, bounded rendering of one cell."""
    if v is None or isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    if isinstance(v, bytes):
        return v[:MAX_CELL_CHARS].hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, list | tuple):
        return [json_value(x) for x in v[:50]]
    if isinstance(v, dict):
        return {str(k)[:MAX_CELL_CHARS]: json_value(x) for k, x in list(v.items())[:50]}
    text = str(v)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def run(req: dict[str, Any], layers: dict[str, str] | None = None) -> dict[str, Any]:
    """Handle one request in the child; always returns a dict with `kind`.

    `layers` is what `tools.confine` applied; the `layers` op reports it (`devstarl doctor`).
    """
    if req["op"] == "layers":
        return {"kind": "ok", "layers": layers or {}, "allow_list": not UNCHECKED}
    try:
        out = run_compile(req) if req["op"] == "compile" else run_execute(req)
        return {"kind": "ok", **out}
    except ProgramError as e:
        return {"kind": e.kind, "error": str(e)}
    except MemoryError:
        return {"kind": "memory", "error": "MemoryError: the program ran out of memory"}
    except duckdb.Error as e:
        return {"kind": "runtime_error", "error": error_line(e)}


WARM_UP = """
a = t.filter((_.x > 1) & _.s.contains("a")).mutate(d=_.ts.date(), m=_.ts.month())
b = a.group_by("s").agg(n=_.count(), avg=_.x.mean(), u=_.y.nunique())
w = a.mutate(r=ibis.row_number().over(group_by="s", order_by=ibis.desc("x")))
b.join(u, b.s == u.s).union(b.join(u, "s", how="left").select(b.columns)).order_by("n").limit(5)
"""


def warm_up() -> None:
    """Run our own representative program once, so children start with lazy imports and caches
    (sqlglot dialects, ibis rewrites, DuckDB's Python layer) already loaded."""
    schema = {"x": "int64", "y": "float64", "s": "string", "ts": "timestamp"}
    run_compile({"op": "compile", "code": WARM_UP, "schema": {"t": schema, "u": {"s": "string"}}})
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        backend = ibis.duckdb.from_connection(con)
        t = ibis.memtable({"x": [1, 2], "s": ["a", "b"]})
        backend.to_pyarrow(t.group_by("s").agg(n=t.x.sum()))
        backend.to_pyarrow_batches(t).read_all()
    finally:
        con.close()
