"""The report: terminal table, JSON summary, markdown and valid PNG plots."""

from __future__ import annotations

import io
import json
from pathlib import Path

from matplotlib.image import imread
from rich.console import Console

from harness.evaluate import summarize
from harness.report import print_summary, write_report
from tests.harness.test_evaluate import handmade_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_write_report(tmp_path: Path):
    results = handmade_results()
    summary = {**summarize(results), "run": {"model": "scripted", "seed": 0}}
    paths = write_report(summary, results, tmp_path / "report")
    names = [p.name for p in paths]
    assert names == ["summary.json", "report.md", "accuracy.png", "rounds.png", "latency.png"]
    assert json.loads(paths[0].read_text()) == summary
    text = paths[1].read_text()
    assert "| overall | 4 | 66.7%" in text and "| hard |" in text
    assert "- model: `scripted`" in text
    for png in paths[2:]:
        assert png.read_bytes()[:8] == PNG_MAGIC
        height, width, _ = imread(png).shape
        assert height > 100 and width > 100


def test_report_of_no_results(tmp_path: Path):
    paths = write_report(summarize([]), [], tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_print_summary():
    out = io.StringIO()
    print_summary(summarize(handmade_results()), Console(file=out, width=200))
    text = out.getvalue()
    for word in ("EX", "comp@1", "exec@1", "pass@5", "first-try", "p95 s", "overall", "easy"):
        assert word in text
