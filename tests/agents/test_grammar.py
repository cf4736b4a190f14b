"""The program grammar: no false rejections of the demo's gold and reference programs, the
model's known mistakes rejected, a grammar for every sample database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.grammar import accepts, near_misses, program_grammar
from tools.database import resolve
from tools.schema import Schema, inspect

ROOT = Path(__file__).resolve().parents[2]
GOLD = [json.loads(line) for name in ("nycflights13.jsonl", "reference.jsonl")
        for line in (ROOT / "bench/tasks" / name).read_text().splitlines()]


def reply(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture(scope="module")
def grammar(demo_schema: Schema) -> str:
    return program_grammar(demo_schema)


def test_every_gold_and_reference_program_is_accepted(grammar: str) -> None:
    assert len(GOLD) == 206
    rejected = [task["id"] for task in GOLD if not accepts(grammar, reply(task["gold_code"]))]
    assert rejected == []


@pytest.mark.parametrize("code", [
    "flights.filter(_.arr_dealy > 30).count()",  # misspelt column (a swap)
    "flights.filter(_.arr_delays > 30).count()",  # misspelt column (an insertion)
    "flights.select('carier')",  # misspelt column in a string argument
    "flights.filter(_.Carrier == 'UA').count()",  # wrong case
    "flights.groupby('carrier').agg(n=_.count())",  # pandas
    "flights.sort_values('dep_delay')",  # pandas
    "flights.query('dep_delay > 0')",  # pandas
    "flights.merge(airlines, on='carrier')",  # pandas
    "flights.dep_delay.str.contains('x')",  # pandas accessor
    "len(flights)",  # a builtin called
    "flights(1).count()",  # a table called like a function
    "t.count()",  # the docs' generic table
    "df.count()",
    "flights.filter((_.month == 1) or (_.day == 2))",  # `or` between expressions
    "flights.filter(_.carrier in ['UA', 'AA'])",  # `in` rather than isin
    "import pandas as pd\nflights.count()",
    "con = ibis.connect('duckdb://x')\nflights.count()",
    "flights.count()  # how many",  # a comment
    "n_flights = n_flights()",  # a variable called (once read as `n_flights` and then `()`)
    "n_flights = flights.count() n_flights",  # two statements on one line
    "flights.sql('select 1')",  # denied by the policy
    "ibis.memtable({'a': [1]})",  # a table made, not read
    "flight.count()",  # near-miss of a table
    "defcount = flights.count()",  # `def` run on into a name
    "n_" + "x" * 60 + " = flights.count()",  # a runaway name
    "flights.sort_values_by_delay",  # a pandas name run on into a derived name
    "",
])
def test_wrong_programs_are_rejected(grammar: str, code: str) -> None:
    assert not accepts(grammar, reply(code))


@pytest.mark.parametrize("code", [
    "flights.count()",
    "jan = flights.filter(_.month == 1)\njan.agg(n=_.count())",
    "result = flights.count()",
    "flights.group_by('carrier').agg(avg_delay=_.arr_delay.mean()).order_by(ibis.desc('avg_delay'))",
    "flights.filter(_.carrier.isin(['UA', 'AA'])).count()",
    "flights.mutate(late=_.arr_delay > 15).filter(_.late).count()",
    "flights[flights.month == 1].count()",
    "flights.limit(5)",
    "flights.select(_.carrier, flights.dep_delay)",
    "(\n    flights\n    .filter(~_.dep_delay.isnull())\n    .count()\n)",
    "flights.agg(n=_.count(), m=_.dep_delay.max() - _.dep_delay.min())",
    "flights.filter(_.dep_delay > -5.5e1).count()",
    "flights.group_by(\n    'carrier',\n).agg(\n    n=_.count(),\n)",
    "jan = flights.filter(_.month == 1)\n\njan.count()",
    # scaffolding agents.tidy removes
    "import ibis\nfrom ibis import _\n\nflights.count()",
    "n_flights = flights.count()\nprint(n_flights)",
    "flights.count().execute()",
    "flights = flights.filter(_.month == 1)\nflights.count()",  # a table name rebound
    "mean_delay = flights.dep_delay.mean()\nmean_delay",
])
def test_plain_ibis_programs_are_accepted(grammar: str, code: str) -> None:
    assert accepts(grammar, reply(code))


def test_a_reply_is_a_fenced_block_and_nothing_else(grammar: str) -> None:
    assert not accepts(grammar, "flights.count()")
    assert not accepts(grammar, "Here it is:\n" + reply("flights.count()"))
    assert not accepts(grammar, reply("flights.count()") + "\nThat counts the flights.")


def test_a_reply_cut_short_is_the_start_of_one(grammar: str) -> None:
    assert accepts(grammar, "```python\nflights.filter(_.dep_del", whole=False)
    assert not accepts(grammar, "```python\nflights.filter(_.dep_del", whole=True)
    assert not accepts(grammar, "```python\nflights.groupby(", whole=False)


def test_near_misses_cover_case_edits_and_swaps() -> None:
    import re

    pattern = re.compile(f"^(?:{near_misses('carrier')})$")
    for name in ("Carrier", "CARRIER", "carier", "carrierr", "carreir", "carrjer", "carrier"):
        assert pattern.match(name), name
    for name in ("carriers_total", "n_carriers", "airline"):
        assert not pattern.match(name), name
    short = re.compile(f"^(?:{near_misses('lat')})$")  # `late`, `flat`: edits of a short
    assert short.match("LAT") and not short.match("late")  # name are words, not typos


def test_the_grammar_is_built_once_per_schema(demo_schema: Schema) -> None:
    assert program_grammar(demo_schema) is program_grammar(demo_schema)


def test_every_sample_database_gets_a_grammar_that_compiles(sample_dbs: Path) -> None:
    for path in sorted(sample_dbs.glob("*.duckdb")):
        schema = inspect(resolve(str(path)))
        grammar = program_grammar(schema)
        table = schema.tables[0]
        column = table.columns[0].name
        assert accepts(grammar, reply(f"{table.name}.select('{column}').limit(3)")), path.stem
        other_case = column.upper() if column != column.upper() else column.lower()
        names = {c.name for t in schema.tables for c in t.columns}
        if other_case not in names:
            assert not accepts(grammar, reply(f"{table.name}.select('{other_case}').limit(3)"))
