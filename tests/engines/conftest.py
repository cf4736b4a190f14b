"""Real engines for the session, each holding the demo tables: a PostgreSQL server with a
read-only role, and a local Spark Connect server with Parquet-backed tables.

PostgreSQL comes from Debian's `postgresql` package, Spark from pyspark and a JRE (`./setup.sh
--dev` installs them); each starts in a fresh folder on a free loopback port and is stopped at
the end (about 8 s to start and load PostgreSQL, 30-50 s for Spark's JVM).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.postgres import LocalPostgres, PostgresError
from harness.spark import LocalSpark, SparkError
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
    except BaseException:  # a failed load must not leave a server running
        server.stop()
        raise
    try:
        yield Server(server, url, resolve(url))
    finally:
        server.stop()


@dataclass(frozen=True)
class SparkServer:
    server: LocalSpark
    db: Database


@pytest.fixture(scope="session")
def spark(demo_db: Database) -> Iterator[SparkServer]:
    server = LocalSpark(database="nycflights13")
    try:
        server.start()
        server.load_duckdb(demo_db.path)
    except SparkError as e:
        server.stop()
        pytest.fail(f"cannot start the test Spark Connect server (./setup.sh --dev installs "
                    f"pyspark and a JRE): {e}")
    except BaseException:
        server.stop()
        raise
    try:
        yield SparkServer(server, resolve(server.url))
    finally:
        server.stop()
