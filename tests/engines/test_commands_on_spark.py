"""The command line with `--db spark://...`, against a local Spark Connect server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engines.conftest import SparkServer
from tests.engines.test_commands_on_postgres import PROGRAM, QUESTION, devstarl


def test_db_info_compile_and_run(spark: SparkServer) -> None:
    url = spark.db.url
    info = devstarl("db", "info", "--db", url, "--json")
    assert info.returncode == 0, info.stderr
    tables = {t["name"]: t["rows"] for t in json.loads(info.stdout)["tables"]}
    assert tables["flights"] == 336_776
    compiled = devstarl("compile", PROGRAM, "--db", url, "--json")
    assert compiled.returncode == 0, compiled.stderr
    assert "`t0`.`carrier`" in json.loads(compiled.stdout)["sql"]  # Spark SQL's quoting
    full = devstarl("run", PROGRAM, "--db", url, "--full", "--json")
    assert full.returncode == 0, full.stderr
    result = json.loads(full.stdout)
    assert result["rows"] == 16 and result["preview"]["rows"][0][0] == "F9"


@pytest.mark.slow
def test_ask_answers_the_readme_question(spark: SparkServer, default_model: Path) -> None:
    """README's first command on Spark, default settings: F9 (Frontier), verified."""
    done = devstarl("ask", QUESTION, "--db", spark.db.url, "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ok"] and record["trace"]["verified"]
    assert record["rows"][0][0] == "F9", record["code"]
    assert "`" in record["sql"]  # run on Spark, in its dialect
