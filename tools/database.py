"""Resolving what the user names as a database: the demo, a DuckDB file, or an Ibis URL."""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tools import engines
from tools.demo import DEMO_NAME, ensure_demo
from tools.errors import DatabaseError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# Characters that end a line (str.splitlines) or garble a terminal: escaped in messages.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file


@dataclass(frozen=True)
class Database:
    """A database the tools can inspect and sample. Exactly one of `path` and `url` is set."""

    name: str
    path: Path | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        """Where the database is, for one-line messages: its file, or its URL (no password)."""
        return shown(self.path) if self.path is not None else redact(self.url)

    @property
    def key(self) -> str:
        """Changes when the data may have changed: used to key samples and schema caches."""
        if self.path is not None:
            st = self.path.stat()
            ident = f"{self.path}|{st.st_size}|{st.st_mtime_ns}"
        else:
            ident = str(self.url)
        return f"{self.name}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"

    @property
    def dialect(self) -> str:
        """The engine's SQL dialect, which `compile` shows."""
        return engines.dialect(self.url)

    def connect(self, statement_timeout_s: float = 300.0) -> Any:
        """A read-only Ibis connection for our own queries (never for generated code)."""
        import ibis

        if self.path is not None:
            con = ibis.duckdb.connect(str(self.path), read_only=True)
            # no progress bar on stdout for our longer queries (`db info --json` prints there)
            con.raw_sql("SET enable_progress_bar = false")
            return con
        try:
            return engines.connect(self.url, statement_timeout_s)
        except ImportError as e:
            scheme = str(self.url).split("://", 1)[0]
            raise DatabaseError(
                f"the Ibis backend for {scheme}:// is not installed "
                f"(pip install 'ibis-framework[{engines.backend_name(self.url)}]'): "
                f"{one_line(e)}"
            ) from e
        except Exception as e:  # noqa: BLE001 - any backend's failure becomes one clear line
            raise DatabaseError(f"cannot connect to {redact(self.url)}: {one_line(e)}") from e


def resolve(spec: str | Path | None) -> Database:
    """`None`/"demo" -> the demo database; "scheme://..." -> an Ibis URL; else a DuckDB file."""
    if spec is None or str(spec) in ("", "demo", DEMO_NAME):
        return Database(name=DEMO_NAME, path=ensure_demo())
    text = str(spec)
    if _URL.match(text):
        return _resolve_url(text)
    return _resolve_file(Path(text).expanduser())


def _resolve_file(path: Path) -> Database:
    where = shown(path)
    if not path.exists():
        raise DatabaseError(f"database file not found: {where}")
    if not path.is_file():
        raise DatabaseError(f"not a file: {where}")
    try:
        with path.open("rb") as f:
            header = f.read(12)
    except OSError as e:
        raise DatabaseError(f"cannot read {where}: {e.strerror}") from e
    if header[8:12] != _DUCKDB_MAGIC:
        raise DatabaseError(f"not a DuckDB database file: {where}")
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as e:
        why = one_line(str(e).replace(str(path), where))
        raise DatabaseError(f"corrupt or unreadable DuckDB file {where}: {why}") from e
    return Database(name=_slug(path.stem), path=path.resolve())


def _resolve_url(url: str) -> Database:
    scheme = url.split("://", 1)[0].lower()
    if scheme == "duckdb":  # duckdb:///path/to/file.duckdb is a file we can lock down
        target = url.split("://", 1)[1].split("?", 1)[0]
        return _resolve_file(Path(target))
    db = Database(name=_url_name(url), url=url)
    con = db.connect()  # fail now, with a clear message, rather than mid-run
    try:
        writes = engines.write_access(con)
    except Exception as e:  # noqa: BLE001 - the engine's failure becomes one clear line
        raise DatabaseError(f"cannot check the role's privileges on {db.label}: "
                            f"{one_line(e)}") from e
    finally:
        con.disconnect()
    if writes:
        raise DatabaseError(
            f"refusing {db.label}: the role can write ({writes}); give DevStarL a role that "
            "may only SELECT (README: Other engines)")
    return db


def _url_name(url: str) -> str:
    """A URL's database name (postgres://h/nycflights13 -> nycflights13), else its scheme:
    the name adapters, example banks and traces go by, so the same tables on another engine
    share them."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme.lower() in ("sqlite", "duckdb"):  # a file: the scheme, as before
        return _slug(parsed.scheme.lower())
    first = urllib.parse.unquote(parsed.path).strip("/").split("/", 1)[0]
    return _slug(first) if first else _slug(parsed.scheme.lower())


def redact(url: str | None) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url or "")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "db"


def shown(path: Path | str) -> str:
    """A path for a one-line message: control characters (a newline in a name) escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(path))


def one_line(e: BaseException | str) -> str:
    """The first line of an error's message (DuckDB's go on with hints), or its type's name."""
    lines = str(e).strip().splitlines()
    if lines:
        return lines[0]
    return type(e).__name__ if isinstance(e, BaseException) else "no reason given"
