"""A chart for a result that has the shape for one: a time and a number (a line), or a
category and a number (bars). Plotly figures as JSON; the page draws them with plotly.js,
served from the plotly package itself (no CDN)."""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(r"^!?(u?int\d*|float\d*|decimal.*)$")
_TIME = re.compile(r"^!?(date|timestamp.*)$")
_CATEGORY = re.compile(r"^!?(string|boolean)$")


def chart(columns: list[str], types: list[str], rows: list[list[Any]]) -> dict[str, Any] | None:
    """A plotly figure (as a JSON-able dict) for the result, or None when it has no such shape
    or fewer than two rows."""
    if len(rows) < 2:
        return None
    number = _first(types, _NUMBER)
    if number is None:
        return None
    x = _first(types, _TIME)
    kind = "line" if x is not None else "bar"
    if x is None:
        x = _first(types, _CATEGORY)
    if x is None:
        return None
    points = [(row[x], row[number]) for row in rows if row[x] is not None]
    if kind == "line":
        points.sort(key=lambda p: str(p[0]))
    return _figure(kind, columns[x], columns[number], points)


def _first(types: list[str], pattern: re.Pattern[str]) -> int | None:
    return next((i for i, t in enumerate(types) if pattern.match(t)), None)


def _figure(kind: str, x_name: str, y_name: str, points: list[tuple[Any, Any]]
            ) -> dict[str, Any]:
    import plotly.graph_objects as go

    xs = [str(p[0]) for p in points]
    ys = [p[1] for p in points]
    trace = go.Bar(x=xs, y=ys) if kind == "bar" else go.Scatter(x=xs, y=ys, mode="lines+markers")
    figure = go.Figure(trace, layout={
        "xaxis": {"title": {"text": x_name}, "type": "category" if kind == "bar" else "date"},
        "yaxis": {"title": {"text": y_name}}, "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
        "height": 320, "template": "plotly_white"})
    return json.loads(figure.to_json())  # plotly's own encoder: numpy, dates, NaN
