"""What differs between engines, without a server: names, dialects, session settings."""

from __future__ import annotations

import pytest

from tools import engines
from tools.database import _url_name


@pytest.mark.parametrize(("url", "dialect", "name"), [
    (None, "duckdb", None),
    ("postgres://u:p@h:5432/nycflights13", "postgres", "nycflights13"),
    ("postgresql://u@h/shop/sales", "postgres", "shop"),
    ("spark://127.0.0.1:15002/nycflights13", "pyspark", "nycflights13"),
    ("sc://127.0.0.1:15002", "pyspark", "sc"),
    ("sqlite:///tmp/x.db", "sqlite", "sqlite"),
    ("mysql://u@h", "mysql", "mysql"),
])
def test_dialect_and_name(url: str | None, dialect: str, name: str | None) -> None:
    assert engines.dialect(url) == dialect
    if url is not None:
        assert _url_name(url) == name


def test_postgres_sessions_are_read_only_and_bounded() -> None:
    options = engines.session_options("postgres://u@h/db", 2.5)["options"]
    assert "default_transaction_read_only=on" in options and "statement_timeout=2500" in options
    assert engines.session_options("sqlite:///x.db", 2.5) == {}


def test_no_write_check_where_the_engine_cannot_tell() -> None:
    class Other:
        name = "sqlite"

    assert engines.write_access(Other()) is None
    assert engines.key_constraints(Other()) == []
