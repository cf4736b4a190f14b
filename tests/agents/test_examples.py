"""Worked examples use the database's own names, and every one compiles on every database."""

from __future__ import annotations

from agents.examples import schema_examples
from agents.linking import link_tables
from tools.calls import compile_code
from tools.database import resolve
from tools.schema import inspect


def _programs(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("Q: ")]


def test_examples_compile_on_every_sample_database(sample_dbs, sandbox) -> None:
    paths = sorted(sample_dbs.glob("*.duckdb"))
    assert len(paths) >= 20
    for path in paths:
        schema = inspect(resolve(str(path)))
        for question in ("How many are there?", "What is the average age per country?"):
            text = schema_examples(schema, link_tables(question, schema), question)
            programs = _programs(text)
            assert programs, path.name
            for code in programs:
                result = compile_code(code, schema, sandbox=sandbox)
                assert result.ok, (path.name, code, result.error)


def test_examples_prefer_what_the_question_names(demo_schema) -> None:
    question = "Which carrier had the highest average arrival delay?"
    text = schema_examples(demo_schema, link_tables(question, demo_schema), question)
    assert "flights.group_by(\"carrier\").agg(avg_arr_delay=_.arr_delay.mean())" in text
    # a per-group answer is shown apart from its top 1, so neither shape stands for both
    assert "flights.group_by(\"carrier\").agg(avg_arr_delay=_.arr_delay.mean())\n" in text
    assert ".order_by(ibis.desc(\"avg_arr_delay\")).limit(1)" in text
    assert "flights.filter(_.carrier ==" not in text  # the filter uses another column
    assert "flights.join(airlines, flights.carrier == airlines.carrier)" in text
    assert " t." not in text and "(t." not in text
    planes = schema_examples(demo_schema, ["planes"], "How many seats do planes have?")
    assert planes.splitlines()[1].startswith("planes.")
