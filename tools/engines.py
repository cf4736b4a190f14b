"""What differs between engines: the SQL dialect, the read-only session, the read-only check.

An engine is named by the Ibis backend that reaches it: `duckdb` for files, else the scheme of
the database's URL (`postgresql://` is `postgres`, as in `ibis.connect`). Kept free of heavy
imports: the sandbox child uses it too.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

_ALIASES = {"postgresql": "postgres", "spark": "pyspark", "sc": "pyspark"}
_SPARK_CONNECT = ("spark", "sc")  # our URL for a Spark Connect server: spark://HOST:PORT/DB
# Writes a role may hold on a table, and the catalog schemas no user table lives in.
_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_PG_SYSTEM = "('pg_catalog', 'information_schema', 'pg_toast')"


def backend_name(url: str) -> str:
    scheme = urllib.parse.urlparse(url).scheme.lower()
    return _ALIASES.get(scheme, scheme)


def dialect(url: str | None) -> str:
    """The SQL dialect programs compile to: the engine's own (`ibis.to_sql(..., dialect=)`)."""
    return "duckdb" if url is None else backend_name(url)


def connect(url: str, statement_timeout_s: float) -> Any:
    """An Ibis connection for `url`, its session read-only and bounded (`session_options`).
    `spark://HOST:PORT/DATABASE` reaches a Spark Connect server (a client only: no JVM here)
    and uses DATABASE; other URLs go to `ibis.connect`."""
    import ibis

    parsed = urllib.parse.urlparse(url)
    if parsed.scheme.lower() not in _SPARK_CONNECT:
        return ibis.connect(url, **session_options(url, statement_timeout_s))
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(f"sc://{parsed.netloc}").getOrCreate()
    con = ibis.pyspark.connect(session)
    if database := urllib.parse.unquote(parsed.path).strip("/"):
        session.catalog.setCurrentDatabase(database)
    return con


def session_options(url: str, statement_timeout_s: float) -> dict[str, Any]:
    """Keyword arguments for `ibis.connect(url, ...)` that make the session read-only and bound
    each statement, where the engine takes them. The role must be read-only as well: a program
    that could run raw SQL could undo a session setting, not a missing privilege."""
    if backend_name(url) == "postgres":
        ms = max(1, int(statement_timeout_s * 1000))
        return {"options": f"-c default_transaction_read_only=on -c statement_timeout={ms}",
                "connect_timeout": 10}
    return {}


def write_access(con: Any) -> str | None:
    """Why the connected role can change the database, or None when the engine says it cannot
    (or cannot tell: only PostgreSQL is asked)."""
    if getattr(con, "name", None) != "postgres":
        return None
    with con.raw_sql(f"""
        SELECT r.rolsuper, r.rolcreaterole,
          (SELECT string_agg(DISTINCT c.relname, ', ') FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN {_PG_SYSTEM}
               AND n.nspname NOT LIKE 'pg_temp%'
               AND ({' OR '.join(f"has_table_privilege(c.oid, '{w}')" for w in _WRITES)})),
          (SELECT string_agg(n.nspname, ', ') FROM pg_namespace n
             WHERE n.nspname NOT IN {_PG_SYSTEM} AND n.nspname NOT LIKE 'pg_%'
               AND has_schema_privilege(n.oid, 'CREATE')),
          has_database_privilege(current_database(), 'CREATE')
        FROM pg_roles r WHERE r.rolname = current_user""") as cur:
        row = cur.fetchone()
    if row is None:
        return None
    superuser, create_role, tables, schemas, create_schema = row
    if superuser:
        return "it is a superuser"
    if create_role:
        return "it may create roles"
    if tables:
        return f"it may insert, update, delete or truncate in {_few(tables)}"
    if schemas:
        return f"it may create tables in schema {_few(schemas)}"
    if create_schema:
        return "it may create schemas in the database"
    return None


def key_constraints(con: Any) -> list[tuple[str, str, list[str], str | None, list[str]]]:
    """(table, "PRIMARY KEY" | "FOREIGN KEY", columns, referenced table, referenced columns) of
    the tables in the connection's schema, where the engine keeps them (PostgreSQL); else []."""
    if getattr(con, "name", None) != "postgres":
        return []
    cols = ("ARRAY(SELECT a.attname FROM unnest(c.{key}) WITH ORDINALITY k(n, i) "
            "JOIN pg_attribute a ON a.attrelid = c.{rel} AND a.attnum = k.n ORDER BY k.i)")
    with con.raw_sql(f"""
        SELECT (SELECT relname FROM pg_class WHERE oid = c.conrelid),
          CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'FOREIGN KEY' END,
          {cols.format(key="conkey", rel="conrelid")},
          (SELECT relname FROM pg_class WHERE oid = c.confrelid),
          {cols.format(key="confkey", rel="confrelid")}
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE c.contype IN ('p', 'f') AND n.nspname = current_schema()
        ORDER BY 1, 2 DESC, c.conname""") as cur:
        return [(t, kind, list(c), ref, list(rc or [])) for t, kind, c, ref, rc in cur.fetchall()]


def _few(names: str, n: int = 3) -> str:
    parts = names.split(", ")
    return ", ".join(parts[:n]) + (f" (and {len(parts) - n} more)" if len(parts) > n else "")
