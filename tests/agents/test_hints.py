"""Tool errors from code-model habits get a fix in the database's own names."""

from __future__ import annotations

import pytest

from agents.hints import hint
from tools.calls import compile_code


@pytest.mark.parametrize(("code", "expected"), [
    ("flights.sort_values('arr_delay')", 'order_by(ibis.desc("col"))'),
    ("flights.query('month == 1')", "filter(_.col == value)"),
    ("flights.filter(_.Carrier == 'UA')", "did you mean 'carrier'?"),
    ("flights.filter((_.month == 1) or (_.day == 2))", "combine conditions with &"),
    ("flights.join(airlines, on='carrier')", 'a.join(b, "shared_column")'),
    ("flights('carrier')", "a table is a variable"),
    ("len(flights)", "t.count()"),
    ("flight.count()", "did you mean 'flights'?"),
    ("flights.filter(carrier == 'UA')", "refer to a column through its table or _"),
    ("flights.carrier.mean()", "that column is a string"),
    ("flights.nonsense_column", "The columns are flights: year, month, day"),
    ("airlines.join(flights, 'carrier').nonsense", "The columns are airlines: carrier, name; "
                                                   "flights: year"),
])
def test_a_real_tool_error_gets_its_hint(code, expected, demo_schema, sandbox) -> None:
    result = compile_code(code, demo_schema, sandbox=sandbox)
    assert not result.ok
    text = hint(result.error, code, demo_schema, ["flights", "airlines"])
    assert text is not None and expected in text, (result.error, text)


def test_an_unknown_error_gets_no_hint(demo_schema) -> None:
    assert hint("DuckDB: out of memory", "flights", demo_schema) is None
