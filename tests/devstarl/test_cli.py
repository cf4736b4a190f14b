"""The `devstarl` command line, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.traces import TraceStore
from tests.agents.fakes import scripted_server
from tools.database import Database

DEVSTARL = [sys.executable, "-m", "devstarl"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEVSTARL, *args], input=stdin, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_help_on_every_command() -> None:
    for command in ([], ["db"], ["db", "info"], ["db", "build-demo"], ["compile"], ["run"]):
        done = run(*command, "--help")
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout


def test_db_info_json(demo_db: Database) -> None:
    done = run("db", "info", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["db"] == "nycflights13" and len(data["tables"]) == 5


def test_compile_and_run(demo_db: Database) -> None:
    program = "flights.group_by('origin').agg(n=_.count()).order_by('origin')"
    compiled = run("compile", program)
    assert compiled.returncode == 0 and "GROUP BY" in compiled.stdout
    done = run("run", program, "--full", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["preview"]["rows"] == [["EWR", 120835], ["JFK", 111279], ["LGA", 104662]]


def test_program_from_stdin_and_file(tmp_path: Path, demo_db: Database) -> None:
    assert run("run", "-", stdin="airlines.count()").returncode == 0
    script = tmp_path / "p.py"
    script.write_text("result = airlines.count()\n")
    assert "16" in run("run", "--file", str(script)).stdout


def test_failed_program_exits_2_with_one_line(demo_db: Database) -> None:
    done = run("run", "import os")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rejected:")


@pytest.mark.parametrize(
    "args",
    [
        ["db", "info", "--db", "/no/such/file.duckdb"],
        ["db", "info", "--db", "{corrupt}"],
        ["db", "info", "--db", "{text}"],
        ["db", "info", "--table", "nope"],
        ["run", ""],
        ["compile", "   "],
        ["run", "--file", "/no/such/program.py"],
        ["run", "flights.count()", "--db", "{text}"],
        ["ask", "How many flights?", "--runtime", "onnx"],
    ],
    ids=["missing-db", "corrupt-db", "non-duckdb", "unknown-table", "empty-code", "blank-code",
         "missing-program-file", "run-on-non-duckdb", "unknown-runtime"],
)
def test_bad_input_is_one_line_and_nonzero(args: list[str], tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"\0" * 8 + b"DUCK" + b"\x07" * 4096)
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    args = [a.format(corrupt=corrupt, text=text) for a in args]
    done = run(*args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr


def test_chat_marks_the_last_answer_good_or_bad(demo_db: Database) -> None:
    question = "How many flights are there in all, asked in chat?"
    script = f"\\good\n{question}\n\\good\n\\bad   wrong year \n\\help\n\\quit\n"
    with scripted_server("```python\nflights.agg(n=_.count())\n```") as api_base:
        done = run("chat", "--backend", "server", "--model", "base", "--api-base", api_base,
                   "--adapter", "none", "--rounds", "0", "--shots", "0", stdin=script)
    assert done.returncode == 0, done.stderr
    assert "no answer yet" in done.stderr  # \good before any answer marks nothing
    store = TraceStore()
    (trace,) = [t for t in store.iter(db=demo_db.name) if t.question == question]
    assert trace.verified
    assert [(f["rating"], f["comment"]) for f in store.feedback(trace.trace_id)] == [
        ("up", None), ("down", "wrong year")]
    assert store.ratings(demo_db.name)[trace.trace_id] == "down"  # the last word stands
    assert "marked good" in done.stdout and "marked bad" in done.stdout
    assert "\\good  \\bad [comment]" in done.stdout  # \help lists them


# A Ctrl-C that lands in exec() of a string, then is caught, as one landing in a lazy import's
# dataclass mid-question would be (CI saw chat exit by SIGINT after answering \quit).
CAUGHT_IN_EXEC = """
import os, signal, sys, threading
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    exec("while True: pass")
except KeyboardInterrupt:
    if sys.argv[1] == "forget":
        from devstarl.ask import forget_interrupt
        forget_interrupt()
"""


@pytest.mark.parametrize(("mode", "returncode"), [("keep", -2), ("forget", 0)])
def test_a_caught_ctrl_c_does_not_kill_the_process_on_exit(mode: str, returncode: int) -> None:
    done = subprocess.run([sys.executable, "-c", CAUGHT_IN_EXEC, mode], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == returncode, done.stderr


def test_doctor_reports_the_sandbox_layers() -> None:
    done = run("doctor", "--json")
    rows = {(r["area"], r["name"]): r for r in json.loads(done.stdout)}
    layers = {name: r for (area, name), r in rows.items() if area == "sandbox"}
    assert {"server", "allow-list", "network", "landlock", "seccomp", "no_new_privs"} <= set(layers)
    assert all(r["ok"] for r in layers.values()), layers
    assert ("data", "free disk") in rows and any(area == "model" for area, _ in rows)
    needed_ok = all(r["ok"] for r in rows.values() if r["needed"])
    assert done.returncode == (0 if needed_ok else 1), done.stderr
