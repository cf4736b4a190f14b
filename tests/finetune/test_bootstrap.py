"""The bootstrap task generator: names to words, question phrasing, the sampler's programs, and
runs on the demo and small sample databases (every kept program re-verified in the sandbox).

The >= 200 tasks on each of the 20 sample databases check is bench/bootstrap.py's job."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from devstarl.bootstrap import bootstrap as bootstrap_cmd
from finetune.bootstrap import (
    Draw,
    Outcome,
    bootstrap,
    fingerprint,
    judge,
    normalize_question,
    write_tasks,
)
from finetune.verbalize import KINDS, Namer, condition, identifier, listing, question, show
from harness.tasks import load_tasks
from tools.calls import compile_code, execute
from tools.database import Database, resolve
from tools.records import ToolResult
from tools.sandbox import Sandbox
from tools.schema import inspect

SMALL = ("pets_1", "museum_visit", "battle_death")
N_SMALL = 40


# Names to words --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "words"), [
    ("arr_delay", "arrival delay"),
    ("dep_time", "departure time"),
    ("StuID", "student ID"),
    ("LName", "last name"),
    ("Fname", "first name"),
    ("Num_of_Staff", "number of staff"),
    ("avg_temp", "average temperature"),
    ("Song_release_year", "song release year"),
    ("MakeId", "make ID"),
    ("IndepYear", "independence year"),
    ("FlightNo", "flight number"),
    ("Official_ratings_(millions)", "official ratings (millions)"),
    ("18_49_Rating_Share", "18-49 rating share"),
    ("Is_male", "male flag"),
    ("uid", "ID"),
    ("tailnum", "tail number"),
])
def test_column_names_become_words(name: str, words: str) -> None:
    assert Namer().words(name) == words


@pytest.mark.parametrize(("table", "one", "many"), [
    ("city", "city", "cities"),
    ("flights", "flight", "flights"),
    ("matches", "match", "matches"),
    ("Addresses", "address", "addresses"),
    ("people", "person", "people"),
    ("Ref_Template_Types", "template type", "template types"),
    ("TV_Channel", "TV channel", "TV channels"),
    ("poker_player", "poker player", "poker players"),
    ("cars_data", "cars data record", "cars data records"),
    ("singer_in_concert", "singer in concert record", "singer in concert records"),
    ("CONTESTANTS", "contestant", "contestants"),
])
def test_table_names_become_nouns(table: str, one: str, many: str) -> None:
    assert Namer().noun(table) == (one, many)


def test_run_together_words_are_split_with_the_schema_vocabulary() -> None:
    namer = Namer.for_names(["country", "Language", "countrylanguage"])
    assert namer.noun("countrylanguage") == ("country language", "country languages")


def test_key_columns_name_their_role() -> None:
    namer = Namer()
    assert namer.role("winner_id", "players") == "winner"
    assert namer.role("SourceAirport", "airports") == "source airport"
    assert namer.role("Stadium_ID", "stadium") == "stadium"
    assert namer.role("caused_by_ship_id", "ship") == "ship"


def test_values_and_lists_read_naturally() -> None:
    assert show("France") == "'France'"
    assert show("Do They Know It's Christmas") == '"Do They Know It\'s Christmas"'
    assert show(12.0) == "12"
    assert show(3.25) == "3.25"
    assert listing(["name", "age", "country"]) == "name, age and country"
    assert identifier("average age") == "average_age"
    assert identifier("18-49 share") == "n18_49_share"
    assert identifier("name", taken=["name"]) == "name_value"


def test_conditions_state_the_comparison() -> None:
    namer = Namer()
    assert condition({"col": "Age", "op": "gt", "value": 30}, namer) == \
        "whose age is greater than 30"
    assert condition({"col": "Age", "op": "between", "value": [20, 30]}, namer, "with") == \
        "with age from 20 to 30 inclusive"
    assert condition({"col": "arr_delay", "op": "isnull"}, namer) == \
        "whose arrival delay is missing"
    assert condition({"col": "Country", "op": "in", "value": ["France", "Chile"]}, namer) == \
        "whose country is one of 'France' or 'Chile'"
    assert condition({"col": "Capacity", "op": "ge", "value": 5000}, namer, "whose",
                     owner="stadium") == "whose stadium's capacity is at least 5000"


def test_every_construct_has_varied_templates() -> None:
    spec = {"kind": "count", "table": "singer",
            "where": [{"col": "Age", "op": "gt", "value": 30}]}
    phrasings = {question(spec, Namer(), random.Random(seed)) for seed in range(40)}
    assert len(phrasings) >= 3
    assert all("30" in q and "singer" in q and "Age" not in q for q in phrasings)
    assert len(KINDS) >= 20


# Result checks ---------------------------------------------------------------------------------


def _result(columns: list[str], rows: list[list], total: int | None = None) -> ToolResult:
    preview = {"columns": columns, "types": ["int64"] * len(columns), "rows": rows}
    return ToolResult(True, "ok", preview=preview, rows=len(rows) if total is None else total)


def test_fingerprint_ignores_row_order_column_order_and_names() -> None:
    a = _result(["x", "y"], [[1, "a"], [2, "b"]])
    b = _result(["n", "m"], [["b", 2.0], ["a", 1]])
    c = _result(["x", "y"], [[1, "a"], [3, "b"]])
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)


def test_judge_keeps_only_meaningful_results() -> None:
    draw = Draw("t.count()", {"kind": "count", "table": "t"}, "aggregate", "easy",
                computed=("n",))
    assert judge(_result(["n"], [[5]]), draw) is None
    assert judge(_result(["n"], []), draw) == "empty"
    assert judge(_result(["n"], [[0]]), draw) == "zero"
    assert judge(_result(["a", "b"], [[None, 1], [None, 2]]), draw) == "null column"
    assert judge(_result(["a"], [[1], [1], [1]]), draw) == "constant"
    assert judge(_result(["g", "n"], [["a", 1], ["b", 1], ["c", 1]]), draw) == "constant"
    assert judge(_result(["a"], [[1]], total=5000), draw) == "too many rows"
    assert judge(ToolResult.failure("runtime_error", "boom"), draw) == "runtime_error"


# Runs ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs(sample_dbs: Path, sandbox: Sandbox) -> dict[str, tuple[Database, Outcome]]:
    runs = {}
    for name in SMALL:
        db = resolve(sample_dbs / f"{name}.duckdb")
        runs[name] = db, bootstrap(db, n=N_SMALL, seed=7, db_name=name, sandbox=sandbox,
                                   progress=False)
    return runs


@pytest.mark.parametrize("name", SMALL)
def test_small_databases_yield_the_tasks_asked_for(small_runs: dict, name: str) -> None:
    _, out = small_runs[name]
    assert len(out.tasks) == N_SMALL, out.reasons
    assert not [r for r in out.reasons if r.endswith("error")], out.failures
    for t in out.tasks:
        assert t["source"] == "bootstrap" and t["db"] == name and t["gold_sql"]
        assert t["id"].startswith(f"{name}-boot-")
        assert t["difficulty"] in ("easy", "medium", "hard")
    assert len({t["category"] for t in out.tasks}) >= 5


@pytest.mark.parametrize("name", SMALL)
def test_every_gold_program_reverifies_with_a_distinct_result(
        small_runs: dict, name: str, sandbox: Sandbox) -> None:
    db, out = small_runs[name]
    schema = inspect(db)
    seen = set()
    for t in out.tasks:
        result = execute(t["gold_code"], db, sandbox=sandbox, max_rows=200)
        assert result.ok and result.rows, (t["gold_code"], result.error)
        seen.add(fingerprint(result))
        assert compile_code(t["gold_code"], schema, sandbox=sandbox).sql == t["gold_sql"]
    assert len(seen) == len(out.tasks)


@pytest.mark.parametrize("name", SMALL)
def test_questions_are_distinct_and_free_of_code_names(small_runs: dict, name: str) -> None:
    _, out = small_runs[name]
    questions = [normalize_question(t["question"]) for t in out.tasks]
    assert len(set(questions)) == len(questions)
    for t in out.tasks:
        unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", t["question"])
        assert "_" not in unquoted, t["question"]
        assert t["question"][0].isupper() and t["question"][-1] in ".?"


def test_same_seed_same_tasks_other_seed_other_tasks(sample_dbs: Path, sandbox: Sandbox) -> None:
    db = resolve(sample_dbs / "singer.duckdb")
    first = bootstrap(db, n=15, seed=3, sandbox=sandbox, progress=False).tasks
    again = bootstrap(db, n=15, seed=3, sandbox=sandbox, progress=False).tasks
    other = bootstrap(db, n=15, seed=4, sandbox=sandbox, progress=False).tasks
    assert first == again
    assert [t["gold_code"] for t in first] != [t["gold_code"] for t in other]


def test_demo_database(demo_db: Database, sandbox: Sandbox) -> None:
    out = bootstrap(demo_db, n=12, seed=1, sandbox=sandbox, progress=False)
    assert len(out.tasks) == 12, out.reasons
    assert not [r for r in out.reasons if r.endswith("error")], out.failures


def test_task_file_loads_with_the_task_loader(small_runs: dict, tmp_path: Path) -> None:
    _, out = small_runs["pets_1"]
    path = tmp_path / "pets.jsonl"
    write_tasks(out.tasks, path)
    loaded = load_tasks(path)
    assert [t.to_dict() | {"split": None} for t in loaded] == \
        [t | {"split": None} for t in out.tasks]


def test_cli_writes_the_task_file(tmp_path: Path, sandbox: Sandbox,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import finetune.bootstrap as module

    monkeypatch.setattr(module, "default_sandbox", lambda: sandbox)
    app = typer.Typer()
    app.command()(bootstrap_cmd)
    path = tmp_path / "tasks.jsonl"
    result = CliRunner().invoke(app, ["--db", "poker_player", "-n", "5", "-o", str(path),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 5 and all(t["db"] == "poker_player" for t in lines)
