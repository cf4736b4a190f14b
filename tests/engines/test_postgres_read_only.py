"""On PostgreSQL, writes fail on the role, not only on the allow-list.

The programs below skip the allow-list on purpose (`Sandbox(unchecked_for_tests=True)`), reach
the program's own backend connection, turn the session's read-only default off (as any program
with raw SQL could) and try to write. Each must end in PostgreSQL's refusal for lack of a
privilege, and the data must be unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.engines.conftest import Server
from tools.calls import execute
from tools.database import resolve
from tools.errors import DatabaseError
from tools.sandbox import Limits, Sandbox

LIMITS = Limits(wall_s=20.0, cpu_s=10)
BYPASS = ("con = flights.op().source\n"
          "con.raw_sql('SET default_transaction_read_only = off').close()\n"
          "con.raw_sql({statement!r}).close()\n"
          "flights.count()")
WRITES = [
    ("insert", "INSERT INTO airlines VALUES ('ZZ', 'Pwned Air')",
     "permission denied for table airlines"),
    ("update", "UPDATE flights SET arr_delay = 0", "permission denied for table flights"),
    ("delete", "DELETE FROM weather", "permission denied for table weather"),
    ("truncate", "TRUNCATE planes", "permission denied for table planes"),
    ("create-table", "CREATE TABLE pwned (x int)", "permission denied for schema public"),
    ("create-temp-table", "CREATE TEMP TABLE pwned (x int)",
     "permission denied to create temporary tables"),
    ("drop-table", "DROP TABLE airlines", "must be owner of table airlines"),
    ("alter-table", "ALTER TABLE flights ADD COLUMN pwned int", "must be owner of table flights"),
    ("create-schema", "CREATE SCHEMA pwned", "permission denied for database nycflights13"),
    ("create-function", "CREATE FUNCTION pwned() RETURNS int AS 'SELECT 1' LANGUAGE sql",
     "permission denied for schema public"),
    ("copy-to-a-server-file", "COPY airlines TO '/var/tmp/devstarl-pwned.csv'",
     "pg_write_server_files role to COPY to a file"),
    ("create-role", "CREATE ROLE pwned", "permission denied to create role"),
]


@pytest.fixture(scope="module")
def unchecked() -> Iterator[Sandbox]:
    box = Sandbox(unchecked_for_tests=True)
    yield box
    box.close()


def _fingerprint(admin_url: str) -> list[tuple]:
    """Every table's row count and column count, and the set of tables and roles."""
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://")) as con:
        tables = [r[0] for r in con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        out = [(t, con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0],
                con.execute("SELECT count(*) FROM information_schema.columns "
                            "WHERE table_name = %s", (t,)).fetchone()[0]) for t in tables]
        out.append(("roles", *sorted(r[0] for r in con.execute("SELECT rolname FROM pg_roles"))))
        out.append(("delays", con.execute("SELECT sum(arr_delay) FROM flights").fetchone()[0]))
    return out


@pytest.mark.parametrize(("statement", "refusal"), [w[1:] for w in WRITES],
                         ids=[w[0] for w in WRITES])
def test_the_role_refuses_a_write(statement: str, refusal: str, postgres: Server,
                                  unchecked: Sandbox) -> None:
    before = _fingerprint(postgres.admin_url)
    result = execute(BYPASS.format(statement=statement), postgres.db, sandbox=unchecked,
                     limits=LIMITS)
    assert not result.ok and refusal in result.error, result.error
    assert "read-only transaction" not in result.error  # the role refused, not the session
    assert _fingerprint(postgres.admin_url) == before


def test_the_bypass_reaches_the_server(postgres: Server, unchecked: Sandbox) -> None:
    """The same route runs a harmless statement: the refusals above are the server's."""
    result = execute(BYPASS.format(statement="SELECT 1"), postgres.db, sandbox=unchecked,
                     limits=LIMITS)
    assert result.ok and result.preview["rows"] == [[336_776]], result.error


def test_the_allow_list_stops_it_first(postgres: Server, sandbox: Sandbox) -> None:
    result = execute(BYPASS.format(statement="DROP TABLE airlines"), postgres.db,
                     sandbox=sandbox, limits=LIMITS)
    assert result.kind == "rejected", result.error


def test_the_session_is_read_only_even_for_a_role_that_could_write(
        postgres: Server, unchecked: Sandbox) -> None:
    """The sandbox child's session is read-only by itself: a write without the SET fails there
    (a second layer; the first is the role)."""
    code = "flights.op().source.raw_sql('CREATE TABLE pwned (x int)').close()\nflights.count()"
    result = execute(code, postgres.db, sandbox=unchecked, limits=LIMITS)
    assert not result.ok and "read-only transaction" in result.error, result.error


def test_a_long_query_is_stopped_by_the_statement_timeout(postgres: Server,
                                                          sandbox: Sandbox) -> None:
    code = "flights.cross_join(weather.select(w=_.temp)).count()"
    result = execute(code, postgres.db, sandbox=sandbox,
                     limits=Limits(wall_s=3.0, cpu_s=3))
    assert result.kind == "timeout", result.error
    assert "statement timeout" in result.error  # PostgreSQL stopped it, not the wall clock


@pytest.mark.parametrize(("grant", "why"), [
    ("ALTER ROLE {user} SUPERUSER", "superuser"),
    ("GRANT INSERT ON airlines TO {user}", "insert, update, delete or truncate in airlines"),
    ("GRANT CREATE ON SCHEMA public TO {user}", "create tables in schema public"),
    ("GRANT CREATE ON DATABASE nycflights13 TO {user}", "create schemas"),
    ("ALTER ROLE {user} CREATEROLE", "create roles"),
], ids=["superuser", "insert", "create-in-schema", "create-schema", "create-role"])
def test_resolve_refuses_a_role_that_can_write(grant: str, why: str, postgres: Server) -> None:
    user = "devstarl_writer"
    with psycopg.connect(postgres.admin_url.replace("postgres://", "postgresql://"),
                         autocommit=True) as con:
        con.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'w'")
        con.execute(f"GRANT CONNECT ON DATABASE nycflights13 TO {user}")
        con.execute(f"GRANT USAGE ON SCHEMA public TO {user}")
        con.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}")
        try:
            url = postgres.server.url(user, "w")
            resolve(url)  # SELECT only: accepted
            con.execute(grant.format(user=user))
            with pytest.raises(DatabaseError) as refused:
                resolve(url)
            message = str(refused.value)
            assert why in message and "can write" in message and "\n" not in message
            assert ":w@" not in message  # no password in the message
        finally:
            con.execute(f"DROP OWNED BY {user}")
            con.execute(f"DROP ROLE {user}")
