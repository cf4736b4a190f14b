"""A real PostgreSQL server for the session, holding the demo tables, with a read-only role.

Started from Debian's `postgresql` package (`./setup.sh --dev` installs it) in a fresh folder
on a free loopback port; about 8 s to start and load, stopped at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.postgres import LocalPostgres, PostgresError
from tools.database import Database, resolve


@dataclass(frozen=True)
class Server:
    server: LocalPostgres
    reader_url: str  # the SELECT-only role DevStarL is given
    db: Database  # `reader_url`, resolved as the command line does

    @property
    def admin_url(self) -> str:
        return self.server.url()


@pytest.fixture(scope="session")
def postgres(demo_db: Database) -> Iterator[Server]:
    server = LocalPostgres(database="nycflights13")
    try:
        server.start()
        server.load_duckdb(demo_db.path)
        url = server.add_reader(statement_timeout_s=120)
    except PostgresError as e:
        server.stop()
        pytest.fail(f"cannot start the test PostgreSQL server (./setup.sh --dev installs it): {e}")
    try:
        yield Server(server, url, resolve(url))
    finally:
        server.stop()
