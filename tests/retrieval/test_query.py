"""Query building and search: real error lines from `compile`, and questions."""

from __future__ import annotations

import pytest

from retrieval.index import Index
from retrieval.notes import notes
from retrieval.query import error_query, question_query, schema_terms
from tools.calls import compile_code
from tools.sandbox import Sandbox
from tools.schema import Schema


def top(index: Index, query: str, k: int = 3) -> list[str]:
    return [d.id for d in index.search(query, k)]


@pytest.mark.parametrize("error", [
    "AttributeError: 'Table' object has no attribute 'groupby'",
    "AttributeError: Table object has no attribute 'groupby', did you mean 'group_by'",
])
def test_groupby_error_retrieves_table_group_by_first(index: Index, error: str) -> None:
    assert top(index, error_query(error), 1) == ["Table.group_by"]


@pytest.mark.parametrize(("code", "expected"), [
    ('flights.sort_values("dep_delay")', "Table.order_by"),
    ('flights.merge(airlines, on="carrier")', "Table.join"),
    ('flights.join(airlines, on="carrier")', "Table.join"),
    ('flights.group_by("carrier").mean()', "GroupedTable.aggregate"),
    ('flights.dep_delay.astype("float64")', "Value.cast"),
    ("flights.carrier.count_distinct()", "Column.nunique"),
    ('flights.filter(_.dest.str.contains("A"))', "StringValue.contains"),
    ("flights.mutate(y=_.time_hour.dt.year)", "DateValue.year"),
    ("flights.mutate(late=ibis.where(_.dep_delay > 0, 1, 0))", "ibis.ifelse"),
    ("flights.filter(month == 7)", "ibis._"),
    ('flights.order_by("dep_delay", ascending=False)', "Value.desc"),
])
def test_real_compile_errors_retrieve_the_right_api(
    index: Index, demo_schema: Schema, sandbox: Sandbox, code: str, expected: str
) -> None:
    result = compile_code(code, demo_schema, sandbox=sandbox)
    assert not result.ok
    assert expected in top(index, error_query(result.error, code), 5), result.error


def test_error_query_weights_the_fix_over_the_mistake() -> None:
    query = error_query("AttributeError: 'Table' object has no attribute 'sort_values'")
    assert query.split().count("order_by") > query.split().count("sort_values")
    assert "Table.order_by" in query  # qualified by the receiver the error names


def test_unparsed_error_falls_back_to_the_called_methods() -> None:
    query = error_query("TypeError: unhashable type: 'dict'",
                        'flights.rename(columns={"a": "b"})')
    assert "rename" in query.split()


def test_question_query_leaves_out_data_names_and_adds_api_words(demo_schema: Schema) -> None:
    query = question_query("What is the average departure delay per carrier?",
                           schema_terms(demo_schema))
    words = query.split()
    assert "carrier" not in words  # a column: data, not API
    assert {"mean", "group_by", "aggregate"} <= set(words)
    assert " | " in query  # one clause per operation


def test_question_naming_two_tables_asks_for_join(demo_schema: Schema) -> None:
    query = question_query("Average seats of the planes each airline flies",
                           schema_terms(demo_schema))
    assert "join" in query.split()


def test_question_about_a_timestamp_column_adds_its_type(demo_schema: Schema) -> None:
    query = question_query("Number of flights per time_hour truncated to the month",
                           schema_terms(demo_schema))
    assert "timestamp" in query.split()


def test_question_retrieves_one_doc_per_operation(index: Index, demo_schema: Schema) -> None:
    query = question_query("How many flights per carrier, most first?",
                           schema_terms(demo_schema))
    found = top(index, query, 5)
    assert "Table.group_by" in found or "GroupedTable.aggregate" in found
    assert {"Table.order_by", "Value.desc", "ibis.desc"} & set(found)


def test_at_most_one_note(index: Index) -> None:
    found = index.search("group by aggregate count distinct top n per group sort", 10)
    assert sum(d.source == "note" for d in found) == 1


def test_nested_types_rank_below_table_methods_unless_asked(index: Index) -> None:
    assert top(index, "filter", 1) != ["ArrayValue.filter"]
    assert "ArrayValue.filter" in top(index, "filter array", 3)


def test_every_note_example_compiles(sandbox: Sandbox) -> None:
    schema = {"t": {"k": "string", "x": "float64", "y": "int64", "s": "string",
                    "ts": "timestamp", "d": "date"},
              "other": {"k": "string", "name": "string"}}
    for note in notes():
        for example in note.examples:
            result = compile_code(example, schema, sandbox=sandbox)
            assert result.ok, f"{note.id}: {example}: {result.error}"


def test_data_errors_ask_for_no_docs(demo_schema: Schema, sandbox: Sandbox) -> None:
    terms = schema_terms(demo_schema)
    missing = compile_code('flights.select("dep_dealy")', demo_schema, sandbox=sandbox)
    assert error_query(missing.error, 'flights.select("dep_dealy")', terms) == ""
    typo = compile_code("flights.dep_dealy.mean()", demo_schema, sandbox=sandbox)
    assert error_query(typo.error, "flights.dep_dealy.mean()", terms) == ""
    # ... while a misspelt method on the same table still gets a query
    assert "group_by" in error_query("AttributeError: 'Table' object has no attribute "
                                     "'groupby'", "", terms)


def test_empty_query_finds_nothing(index: Index) -> None:
    assert index.search("") == []
