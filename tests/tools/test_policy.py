"""The allow-list check on its own: idiomatic Ibis passes, everything outside it is named."""

from __future__ import annotations

import pytest

from tools.policy import MAX_CODE_CHARS, PolicyViolation, check

ALLOWED = [
    "flights.group_by('carrier').agg(n=_.count())",
    "result = flights.mutate(**{'speed': _.distance / _.air_time})",
    "cols = [c for c in flights.columns if c.endswith('delay')]\nflights.select(*cols)",
    "flights.select(ibis.selectors.numeric())",
    "flights.filter(lambda t: t.month == 7).pipe(lambda t: t.limit(3))",
    "x = 2\nx += 1\nflights.limit(x)",
    "flights[flights['dest'].isin({'LAX', 'SFO'})]",
    "flights.mutate(label=ibis.literal(f'month {7}'))",
    "flights.mutate(d=_.time_hour.date(), s=_.carrier.cast('string').to_date('%Y'))",
    "flights.order_by(ibis.desc('arr_delay'))[:5]",
]


@pytest.mark.parametrize("code", ALLOWED)
def test_idiomatic_programs_pass(code: str) -> None:
    check(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("", "empty program"),
        ("x" * (MAX_CODE_CHARS + 1), "too long"),
        ("import ibis", "imports"),
        ("flights.__class__", "'__class__'"),
        ("flights._private", "'_private'"),
        ("flights.to_pandas()", "'to_pandas'"),
        ("ibis.read_parquet('x')", "'read_parquet'"),
        ("flights.sql('select 1')", "'sql'"),
        ("g.gi_frame", "'gi_frame'"),
        ("f.f_globals", "'f_globals'"),
        ("'{}'.format(1)", "'format'"),
        ("open('x')", "'open'"),
        ("__builtins__", "'__builtins__'"),
        ("lambda __x: 1", "'__x'"),
        ("def f():\n    pass", "FunctionDef"),
        ("async def f():\n    pass", "AsyncFunctionDef"),
        ("del flights", "Delete"),
        ("global x", "Global"),
        ("assert False", "Assert"),
    ],
)
def test_violations_say_what(code: str, why: str) -> None:
    with pytest.raises(PolicyViolation, match=why.replace("(", r"\(")):
        check(code)


def test_syntax_errors_are_not_violations() -> None:
    with pytest.raises(SyntaxError):
        check("flights.count(")
