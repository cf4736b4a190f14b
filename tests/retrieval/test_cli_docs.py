"""`devstarl docs`, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

DEVSTARL = [sys.executable, "-m", "devstarl"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEVSTARL, *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_docs_prints_snippets_for_an_error_line() -> None:
    done = run("docs", "AttributeError: 'Table' object has no attribute 'groupby'", "-k", "2")
    assert done.returncode == 0, done.stderr
    assert "Table.group_by" in done.stdout


def test_docs_json() -> None:
    done = run("docs", "count distinct values", "-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert len(docs) == 3 and any(d["id"] == "Column.nunique" for d in docs)
    assert all(d["snippet"] for d in docs)


def test_docs_rejects_bad_arguments_in_one_line() -> None:
    for args in (["docs", "  "], ["docs", "group_by", "-k", "0"]):
        done = run(*args)
        assert done.returncode == 1
        assert done.stderr.startswith("error:") and "Traceback" not in done.stderr
