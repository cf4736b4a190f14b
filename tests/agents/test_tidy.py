"""Scaffolding around a generated program is removed; everything else is left as written."""

from __future__ import annotations

import pytest

from agents.tidy import tidy

TABLES = ["flights", "airlines"]


@pytest.mark.parametrize(("code", "expected"), [
    ("import ibis\nfrom ibis import _\nflights.count()", "flights.count()\n"),
    ("con = ibis.connect('x.db')\nt = con.table('flights')\nt.count()", "t = flights\nt.count()\n"),
    ("con = ibis.duckdb.connect()\ncon.tables.airlines.count()", "airlines.count()\n"),
    ("con = ibis.duckdb.connect()\ncon.tables['airlines']", "airlines\n"),
    ("print(flights.count().execute())", "flights.count()\n"),
    ("r = flights.limit(3).to_pandas()\ndisplay(r)", "r = flights.limit(3)\nr\n"),
    ("ibis.options.interactive = True\nflights", "flights\n"),
    ("Flights.count()", "flights.count()\n"),
    ("con = ibis.duckdb.connect(); t = con.tables.Flights; t.count().to_pandas()",
     "t = flights; t.count()\n"),
    ("# the count\nflights.count()  # all rows", "# the count\nflights.count()  # all rows"),
    # a reader of a file, or a table constructor, named after a table
    ("t = ibis.read_sql('flights.csv', engine='ibis')\nt.count()", "t = flights\nt.count()\n"),
    ("t = pd.read_csv('data/airlines.csv')\nt", "t = airlines\nt\n"),
    ("a = ibis.table('airlines', columns=['carrier'])\na", "a = airlines\na\n"),
    ("f = Table('flights')\nf.count()", "f = flights\nf.count()\n"),
    # a program ending in an assignment has that variable as its value
    ("n_flights = flights.count()", "n_flights = flights.count()\nn_flights\n"),
    ("import ibis\nn = flights.count()", "n = flights.count()\nn\n"),
    # a chain broken over lines without parentheses
    ("flights\n  .filter(_.origin == 'LGA')\n  .count()",
     "flights.filter(_.origin == 'LGA').count()\n"),
])
def test_scaffolding_is_removed(code: str, expected: str) -> None:
    assert tidy(code, TABLES) == expected


@pytest.mark.parametrize("code", [
    "import os\nos.system('ls')",  # not ibis: left for the policy check to reject
    "t = ibis.read_csv('other.csv')\nt",  # a file named after no table: the policy judges it
    "flights\n  .filter(_.x ==\n",  # joining the lines does not make it parse
    "import pandas as pd\npd.DataFrame()",
    "x = (",  # does not parse: the compile tool says so
    "flights.filter(_.carrier == 'UA')",
    "Flights = flights\nFlights.count()",  # a variable of its own, not a miscased table
    "import ibis",  # nothing would be left: keep it, so the tools report it
    "result = flights.count()",  # `result` is a program's value already
])
def test_anything_else_is_left_alone(code: str) -> None:
    assert tidy(code, TABLES) == code
