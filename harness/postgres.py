"""A throwaway local PostgreSQL server with a database's tables and a read-only role.

For tests and benchmarks that run the same programs on a real server (`tests/engines`,
`bench/engines.py`). It uses the server binaries of Debian's `postgresql` package (found under
/usr/lib/postgresql/*/bin, on PATH, or in `$DEVSTARL_PG_BIN`), `initdb`s a cluster in a fresh
folder and starts it with `pg_ctl` on a free loopback port, TCP only (no Unix socket), with
password authentication. PostgreSQL refuses to run as root: as root the server runs as the
`postgres` system user (created with `useradd --system` where missing) in a folder that user
can reach. Durability is off (fsync, full-page writes): this server holds copies.

`load_duckdb` copies a DuckDB file's tables (types through ibis, rows through COPY), with
their primary and foreign keys. `add_reader` creates the role a user should hand DevStarL:
it may connect and SELECT, nothing else (no CREATE, no TEMP), its transactions are read-only
by default and its statements time out.
"""

from __future__ import annotations

import contextlib
import io
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import DevstarlError

ADMIN = "devstarl_admin"
READER = "devstarl_reader"
SERVER_USER = "postgres"  # Debian's package creates it; we create it where it is missing
START_TIMEOUT_S = 60
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "40",
    "shared_buffers": "'64MB'",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


class PostgresError(DevstarlError):
    """The local server could not be set up, started or loaded."""


def server_bin() -> Path:
    """The folder with initdb, pg_ctl and postgres."""
    env = os.environ.get("DEVSTARL_PG_BIN")
    candidates = [Path(env)] if env else []
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    candidates += reversed(debian)
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresError("PostgreSQL server binaries not found (apt-get install postgresql, "
                        "or set DEVSTARL_PG_BIN to the folder holding initdb and pg_ctl)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalPostgres:
    """One server: `start()`, then `load_duckdb(...)` and `add_reader(...)`, then `stop()`."""

    database: str = "nycflights13"
    root: Path | None = None  # the folder holding the cluster; a fresh one when None
    port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: secrets.token_hex(12))
    _owned_root: bool = False
    _user: str | None = None  # the system user the server runs as (None: ourselves)

    def url(self, user: str = ADMIN, password: str | None = None) -> str:
        password = self.admin_password if password is None else password
        return f"postgres://{user}:{password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def start(self) -> LocalPostgres:
        bindir = server_bin()
        self._user = _server_user() if os.geteuid() == 0 else None
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="devstarl-pg-", dir=_reachable_tmp()))
            self._owned_root = True
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            if not _reachable_by(self.root, self._user):
                raise PostgresError(f"{self.root} is not reachable by the {self._user} user")
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        pwfile.chmod(0o600)
        if self._user is not None:
            os.chown(pwfile, pwd.getpwnam(self._user).pw_uid, -1)
        self._run([bindir / "initdb", "-D", self.data, "-U", ADMIN, f"--pwfile={pwfile}",
                   "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "-N"])
        pwfile.unlink()
        settings = "".join(f"{k} = {v}\n" for k, v in {**_SETTINGS, "port": self.port}.items())
        with (self.data / "postgresql.conf").open("a") as f:
            f.write("\n# devstarl\n" + settings)
        self._run([bindir / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w",
                   "-t", str(START_TIMEOUT_S), "start"])
        self._sql("postgres", f'CREATE DATABASE "{self.database}"')
        return self

    def stop(self) -> None:
        if self.root is None or not self.data.exists():
            return
        with contextlib.suppress(PostgresError):
            self._run([server_bin() / "pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                       "stop"])
        if self._owned_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        log = self.root / "server.log" if self.root else None
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def load_duckdb(self, path: Path) -> list[str]:
        """Copy every table of the DuckDB file at `path`, with its keys; return their names."""
        import duckdb
        import ibis

        source = duckdb.connect(str(path), read_only=True)
        target = ibis.postgres.connect(host="127.0.0.1", port=self.port, user=ADMIN,
                                       password=self.admin_password, database=self.database)
        try:
            names = [r[0] for r in source.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "ORDER BY table_name").fetchall()]
            for name in names:
                schema = ibis.duckdb.from_connection(source).table(name).schema()
                target.create_table(name, schema=schema)
                _copy_rows(source, target.con, name)
            for statement in _key_statements(source):
                target.raw_sql(statement).close()
            target.raw_sql("ANALYZE").close()
        finally:
            target.disconnect()
            source.close()
        return names

    def add_reader(self, user: str = READER, password: str | None = None,
                   statement_timeout_s: int = 60) -> str:
        """A role that may only read this database's tables; returns its URL."""
        password = password or secrets.token_hex(12)
        db = f'"{self.database}"'
        self._sql(self.database, *[
            f"CREATE ROLE {user} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB "
            "NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20",
            f"ALTER ROLE {user} SET default_transaction_read_only = on",
            f"ALTER ROLE {user} SET statement_timeout = '{int(statement_timeout_s)}s'",
            f"ALTER ROLE {user} SET idle_in_transaction_session_timeout = '60s'",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",  # CONNECT and TEMP
            f"GRANT CONNECT ON DATABASE {db} TO {user}",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC",
            f"GRANT USAGE ON SCHEMA public TO {user}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
        ])
        return self.url(user, password)

    def _sql(self, database: str, *statements: str) -> None:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user=ADMIN,
                                 password=self.admin_password, dbname=database,
                                 autocommit=True) as con:
                for statement in statements:
                    con.execute(statement)
        except psycopg.Error as e:
            raise PostgresError(f"{statements[0][:60]}...: {e}") from e

    def _run(self, argv: list[Any]) -> None:
        program = Path(argv[0]).name
        argv = [str(a) for a in argv]
        if self._user is not None:
            argv = ["runuser", "-u", self._user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.root,
                              timeout=START_TIMEOUT_S + 30)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            log = self.log_tail(5)
            raise PostgresError(f"{program} failed: {why[0]}" + (f"\n{log}" if log else ""))


def _copy_rows(source: Any, con: Any, name: str) -> None:
    """COPY the table's rows over as CSV, a few MB at a time."""
    ident = '"' + name.replace('"', '""') + '"'
    reader = source.execute(f"SELECT * FROM {ident}").to_arrow_reader(50_000)
    import pyarrow.csv as pacsv

    with con.cursor() as cur, cur.copy(
        f"COPY {ident} FROM STDIN WITH (FORMAT csv, HEADER false, NULL '')"
    ) as copy:
        for batch in reader:
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False,
                                                           quoting_style="needed"))
            copy.write(buf.getvalue())
    con.commit()


def _key_statements(source: Any) -> list[str]:
    """ALTER TABLE statements for the DuckDB file's primary keys, then its foreign keys."""
    rows = source.execute(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        "referenced_column_names FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') "
        "ORDER BY constraint_type DESC, table_name").fetchall()

    def cols(names: list[str]) -> str:
        return ", ".join('"' + c.replace('"', '""') + '"' for c in names)

    out = []
    for table, kind, columns, ref_table, ref_columns in rows:
        if kind == "PRIMARY KEY":
            out.append(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({cols(columns)})')
        else:
            out.append(f'ALTER TABLE "{table}" ADD FOREIGN KEY ({cols(columns)}) '
                       f'REFERENCES "{ref_table}" ({cols(ref_columns)}) NOT VALID')
    return out


def _server_user() -> str:
    """The unprivileged user the server runs as when we are root; created where missing."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                               "/usr/sbin/nologin", SERVER_USER], capture_output=True, text=True)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise PostgresError(f"cannot create the {SERVER_USER} user: "
                                f"{done.stderr.strip()}") from None
    return SERVER_USER


def _reachable_tmp() -> str:
    """A temp folder other users can reach (TMPDIR may be under root's private home)."""
    for place in (tempfile.gettempdir(), "/var/tmp", "/tmp"):
        if Path(place).is_dir() and _traversable(Path(place)):
            return place
    raise PostgresError("no temp folder other users can reach (tried $TMPDIR, /var/tmp, /tmp)")


def _traversable(path: Path) -> bool:
    """Every folder from / to `path` lets others through (o+x)."""
    path = path.resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _reachable_by(path: Path, user: str) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path)]).returncode == 0
