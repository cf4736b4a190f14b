"""`compile`, `execute_on_sample` and the full-data run on good and faulty programs."""

from __future__ import annotations

import pytest

from tools.calls import compile_code, execute, execute_on_sample, render_preview
from tools.database import Database
from tools.records import ToolResult
from tools.sample import sample_path
from tools.sandbox import Sandbox
from tools.schema import Schema

DELAY_BY_CARRIER = (
    "flights.group_by('carrier').agg(avg_delay=_.arr_delay.mean())"
    ".order_by(ibis.desc('avg_delay'))"
)


def test_compile_returns_sql_without_data(demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code(DELAY_BY_CARRIER, demo_schema, sandbox=sandbox)
    assert result.ok and result.kind == "ok"
    assert 'AVG("t0"."arr_delay")' in result.sql and "GROUP BY" in result.sql
    assert result.preview["columns"] == ["carrier", "avg_delay"]
    assert result.rows is None  # nothing was executed


def test_compile_takes_a_plain_schema_and_other_dialects(sandbox: Sandbox) -> None:
    schema = {"t": {"a": "int64", "b": "string"}}
    result = compile_code("t.filter(_.a > 1).b.upper()", schema, dialect="postgres",
                          sandbox=sandbox)
    assert result.ok, result
    assert "UPPER" in result.sql and "WHERE" in result.sql


def test_compile_error_names_the_fix(demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code("flights.groupby('carrier')", demo_schema, sandbox=sandbox)
    assert result.kind == "compile_error"
    assert "groupby" in result.error and "group_by" in result.error


def test_unknown_table_lists_the_tables(demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code("flight.count()", demo_schema, sandbox=sandbox)
    assert result.kind == "compile_error"
    assert "flight" in result.error and "flights" in result.error


def test_syntax_error_has_line(demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code("x = flights.count(\ny = 2", demo_schema, sandbox=sandbox)
    assert result.kind == "compile_error" and "SyntaxError" in result.error


def test_program_without_value(demo_schema: Schema, sandbox: Sandbox) -> None:
    result = compile_code("x = flights.count()", demo_schema, sandbox=sandbox)
    assert result.kind == "compile_error" and "result" in result.error


def test_result_variable_and_non_expression(demo_schema: Schema, sandbox: Sandbox) -> None:
    assert compile_code("result = flights.count()", demo_schema, sandbox=sandbox).ok
    bad = compile_code("42", demo_schema, sandbox=sandbox)
    assert bad.kind == "compile_error" and "int" in bad.error


def test_execute_on_sample_preview(demo_db: Database, sandbox: Sandbox) -> None:
    result = execute_on_sample(DELAY_BY_CARRIER, demo_db, sandbox=sandbox)
    assert result.ok, result
    assert result.rows == 16 and len(result.preview["rows"]) == 10
    assert result.preview["types"] == ["string", "float64"]
    assert result.output.startswith("16 rows x 2 columns (first 10 shown)")
    assert result.sql and "GROUP BY" in result.sql


def test_sample_is_fixed_and_small_tables_whole(demo_db: Database, sandbox: Sandbox) -> None:
    assert execute_on_sample("flights.count()", demo_db, sandbox=sandbox).preview["rows"] == [
        [10_000]
    ]
    assert execute_on_sample("airlines.count()", demo_db, sandbox=sandbox).preview["rows"] == [
        [16]
    ]
    code = "flights.select('month', 'day', 'flight').order_by(['month', 'day', 'flight'])"
    first = execute_on_sample(code, demo_db, sandbox=sandbox)
    sample_path(demo_db).unlink()  # rebuilt from scratch on the next call
    assert execute_on_sample(code, demo_db, sandbox=sandbox).preview == first.preview


def test_runtime_error_is_a_value(demo_db: Database, sandbox: Sandbox) -> None:
    result = execute_on_sample("flights.select(x=_.carrier.cast('int64'))", demo_db,
                               sandbox=sandbox)
    assert result.kind == "runtime_error"
    assert "Conversion Error" in result.error or "convert" in result.error.lower()


def test_column_and_scalar_results_become_tables(demo_db: Database, sandbox: Sandbox) -> None:
    scalar = execute_on_sample("flights.arr_delay.max()", demo_db, sandbox=sandbox)
    column = execute_on_sample("airlines.name", demo_db, sandbox=sandbox)
    assert scalar.ok and scalar.rows == 1
    assert column.ok and column.preview["columns"] == ["name"] and column.rows == 16


def test_full_run_sees_all_rows(demo_db: Database, sandbox: Sandbox) -> None:
    result = execute("flights.count()", demo_db, sandbox=sandbox)
    assert result.ok and result.preview["rows"] == [[336_776]]
    many = execute("flights.select('flight')", demo_db, sandbox=sandbox, max_rows=3)
    assert many.rows == 336_776 and len(many.preview["rows"]) == 3
    assert many.preview["truncated"] is True


def test_dates_and_nulls_are_json_values(demo_db: Database, sandbox: Sandbox) -> None:
    code = "weather.filter(_.wind_gust.isnull()).select('time_hour', 'wind_gust').limit(1)"
    result = execute(code, demo_db, sandbox=sandbox)
    assert result.ok, result
    (stamp, gust), = result.preview["rows"]
    assert stamp.startswith("2013-") and "T" in stamp and gust is None


def test_tool_result_round_trips() -> None:
    result = ToolResult(True, "ok", output="x", sql="SELECT 1", rows=1)
    assert ToolResult.from_dict(result.to_dict()) == result
    with pytest.raises(ValueError):
        ToolResult(True, "timeout")
    with pytest.raises(ValueError):
        ToolResult(False, "nonsense")


def test_render_preview_marks_nulls() -> None:
    text = render_preview({"columns": ["a"], "types": ["int64"], "rows": [[None]]}, 1)
    assert text.splitlines() == ["1 rows x 1 columns", "a (int64)", "NULL"]


@pytest.mark.parametrize(
    ("code", "first_row"),
    [
        ("airlines.select('carrier', 'name').order_by('carrier').limit(1)",
         ["9E", "Endeavor Air Inc."]),
        ("flights.agg(total=_.distance.sum())", [350_217_607]),
        ("flights.group_by('origin').agg(m=_.time_hour.month().max()).order_by('origin')",
         ["EWR", 12]),
        ("airlines.mutate(n=_.name.length()).select('n').order_by('n').limit(1)", [9]),
        ("flights.select(s=_.month + _.day).order_by(ibis.desc('s')).limit(1)", [43]),
        ("flights.select(x=_.month * 1.5).order_by(ibis.desc('x')).limit(1)", [18.0]),
    ],
    ids=["not-null-key", "integer-sum", "date-part", "string-length", "int32-add",
         "int-times-float"],
)
def test_values_in_declared_types(code: str, first_row: list, demo_db: Database,
                                  sandbox: Sandbox) -> None:
    """DuckDB's Arrow types differ from ibis's for these; results still come back, typed."""
    result = execute(code, demo_db, sandbox=sandbox, max_rows=1)
    assert result.ok, result.error
    assert result.preview["rows"][0] == first_row
