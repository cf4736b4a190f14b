"""The task-file loader: the real task set loads; every malformed file fails with one clear line
per problem (file, line, field); sample databases resolve read-only; fuzzed files never escape
as anything but a TaskFileError."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.tasks import (
    MAX_LINE,
    MAX_SHOWN,
    TRAIN_SPLITS,
    Task,
    TaskFileError,
    load_tasks,
    resolve_db,
    sample_db_names,
    sample_dbs_dir,
    split_of,
    training_tasks,
)
from tools.database import Database
from tools.errors import DatabaseError, DevstarlError

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
GOOD = {"version": 1, "id": "t-1", "db": "nycflights13", "question": "How many flights?",
        "gold_code": "flights.count()", "ordered": False, "difficulty": "easy",
        "source": "hand-written", "split": "train", "category": "aggregate"}


@pytest.fixture(autouse=True)
def _demo(demo_db: Database) -> None:
    """Build the demo once up front, so each test resolves "nycflights13" in a blink."""


def task(**changes: object) -> dict:
    record = dict(GOOD, **changes)
    return {k: v for k, v in record.items() if v is not DROP}


DROP = object()


def write(tmp_path: Path, *lines: dict | str | bytes, name: str = "tasks.jsonl") -> Path:
    path = tmp_path / name
    data = b"".join(
        (x if isinstance(x, bytes) else (x if isinstance(x, str) else json.dumps(x)).encode())
        + b"\n" for x in lines)
    path.write_bytes(data)
    return path


def problems_of(path: Path) -> TaskFileError:
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    return info.value


# The real task file -------------------------------------------------------------------------


def test_real_task_file_loads() -> None:
    tasks = load_tasks(REAL)
    assert len(tasks) == 166
    assert len({t.id for t in tasks}) == 166
    assert {t.split for t in tasks} == {"train", "dev", "test"}
    assert {t.db for t in tasks} == {"nycflights13"}
    assert all(t.gold_code and t.gold_sql and isinstance(t.ordered, bool) for t in tasks)


def test_records_round_trip_exactly() -> None:
    lines = [json.loads(line) for line in REAL.read_text().splitlines() if line.strip()]
    tasks = load_tasks(REAL)
    assert [t.to_dict() for t in tasks] == lines
    assert [Task.from_dict(t.to_dict()) for t in tasks] == tasks


def test_splits_filter_and_training_never_sees_test() -> None:
    tasks = load_tasks(REAL)
    test = load_tasks(REAL, splits=["test"])
    assert test and all(t.split == "test" for t in test)
    assert load_tasks(REAL, splits="dev") == split_of(tasks, "dev")
    train = training_tasks(tasks)
    assert {t.split for t in train} == set(TRAIN_SPLITS)
    assert len(train) + len(test) == len(tasks)
    unsplit = Task(id="r", db="demo", question="q")
    assert training_tasks([unsplit]) == [unsplit]  # not held out: it has no split


@pytest.mark.parametrize("bad", ["validation", "Test"])
def test_unknown_split_names_are_refused(bad: str) -> None:
    with pytest.raises(DevstarlError, match="unknown split"):
        load_tasks(REAL, splits=[bad])
    with pytest.raises(DevstarlError, match="unknown split"):
        split_of([], bad)


def test_defaults_blank_lines_bom_and_crlf(tmp_path: Path) -> None:
    minimal = {"id": "m", "db": "demo", "question": "q?"}
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\r\n\r\n   \n"
                     + json.dumps(minimal).encode() + b"\r\n")
    first, second = load_tasks(path)
    assert first == Task.from_dict(GOOD)
    assert second == Task(id="m", db="demo", question="q?")
    assert (second.ordered, second.source, second.split, second.version) == (
        False, "hand-written", None, 1)


# Malformed files: one line per problem, naming file, line and field ----------------------------

CASES = {
    "bad json": ('{"id": "x", "db": ', "not valid JSON", "column"),
    "not an object": ("[1, 2]", "expected a JSON object", "an array"),
    "missing question": (task(question=DROP), 'missing required field "question"', ""),
    "missing id": (task(id=DROP), 'missing required field "id"', ""),
    "ordered not bool": (task(ordered="yes"), 'field "ordered"', 'true or false, got a string'),
    "ordered null": (task(ordered=None), 'field "ordered"', "null"),
    "id a number": (task(id=3), 'field "id"', "expected a string, got a number 3"),
    "id empty": (task(id="  "), 'field "id"', "must not be empty"),
    "question a list": (task(question=["a"]), 'field "question"', "an array"),
    "gold_code an object": (task(gold_code={}), 'field "gold_code"', "an object"),
    "difficulty": (task(difficulty="extreme"), 'field "difficulty"', 'unknown value "extreme"'),
    "split": (task(split="validation"), 'field "split"', "train, dev, test"),
    "version": (task(version=2), 'field "version"', "unsupported version 2"),
    "version bool": (task(version=True), 'field "version"', "a boolean"),
    "unknown field, close": (task(qestion="x"), 'unknown field "qestion"',
                             'did you mean "question"?'),
    "unknown field, case": (task(ID="x"), 'unknown field "ID"', 'did you mean "id"?'),
    "unknown field, far": (task(zzz=1), 'unknown field "zzz"', ""),
    "unknown db": (task(db="no_such_db"), 'field "db"', 'unknown database "no_such_db"'),
    "db typo": (task(db="concert_singr"), 'field "db"', 'did you mean "concert_singer"?'),
    "db not duckdb": (task(db=str(REAL)), 'field "db"', "not a DuckDB database file"),
    "repeated key": ('{"id": "a", "id": "b", "db": "demo", "question": "q"}',
                     'field "id" appears more than once', ""),
    "not utf-8": (b'{"id": "a", "db": "demo", "question": "caf\xe9"}', "not UTF-8",
                  "byte 0xe9 at column 43"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_problem_is_one_line_naming_line_and_field(tmp_path: Path, name: str) -> None:
    line, what, detail = CASES[name]
    path = write(tmp_path, task(id="ok-1"), "", line)  # the bad line is line 3
    error = problems_of(path)
    assert len(error.problems) == 1, error.problems
    first, problem = str(error).splitlines()
    assert first == f"1 problem in task file {path}:"
    assert problem.startswith(f"{path}:3: ")
    assert what in problem and detail in problem


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, task(id="a"), task(id="b"), task(id="a"))
    (problem,) = problems_of(path).problems
    assert problem == f'{path}:3: field "id": duplicate id "a" (first on line 1)'


def test_one_line_with_several_problems_reports_each(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": 1, "ordered": "no", "colour": "red"})
    problems = problems_of(path).problems
    assert len(problems) == 5  # id type, missing db, missing question, ordered, unknown field
    assert all(p.startswith(f"{path}:1: ") for p in problems)


def test_all_problems_collected_and_at_most_ten_shown(tmp_path: Path) -> None:
    lines = [task(id=f"t{i}", ordered="x" if i % 2 else False, split="nope" if i % 2 else None)
             for i in range(16)]
    error = problems_of(write(tmp_path, *lines))
    assert len(error.problems) == 16  # 8 bad lines, two problems each
    message = str(error).splitlines()
    assert message[0].startswith("16 problems in task file")
    assert len(message) == 1 + MAX_SHOWN + 1
    assert message[-1] == "...and 6 more"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    assert str(problems_of(path)) == f"no tasks in {path}: the file is empty"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert str(problems_of(missing)) == f"task file not found: {missing}"
    assert str(problems_of(tmp_path)) == f"not a file: {tmp_path}"


def test_unreadable_file(tmp_path: Path) -> None:
    # A file mode would not stop root; /proc/self/mem is a file whose read fails for anyone.
    path = tmp_path / "tasks.jsonl"
    path.symlink_to("/proc/self/mem")
    assert "cannot read task file" in str(problems_of(path))


def test_long_values_are_cut_in_messages(tmp_path: Path) -> None:
    huge = "x" * 100_000
    path = write(tmp_path, task(difficulty=huge, **{huge: 1}), task(id="b", db="a\nb\u2028c"))
    message = str(problems_of(path))
    assert len(message.splitlines()) == 4
    assert all(len(line) <= MAX_LINE for line in message.splitlines())


# Databases -------------------------------------------------------------------------------------


def folder_state(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())


def test_every_sample_database_resolves_read_only(sample_dbs: Path) -> None:
    assert sample_dbs_dir() == sample_dbs
    names = sample_db_names()
    assert len(names) == 20 and "concert_singer" in names
    before = folder_state(sample_dbs)
    for name in names:
        db = resolve_db(name)
        assert db.path == (sample_dbs / f"{name}.duckdb").resolve()
        assert db.name == name
    assert folder_state(sample_dbs) == before


def test_task_files_over_sample_databases_load(tmp_path: Path, sample_dbs: Path) -> None:
    before = folder_state(sample_dbs)
    lines = [task(id=name, db=name) for name in sample_db_names()]
    assert [t.db for t in load_tasks(write(tmp_path, *lines))] == sample_db_names()
    assert folder_state(sample_dbs) == before


def test_demo_paths_and_urls_resolve(demo_db: Database, sample_dbs: Path) -> None:
    assert resolve_db("demo") == resolve_db("nycflights13") == demo_db
    file = sample_dbs / "singer.duckdb"
    assert resolve_db(str(file)).path == file.resolve()
    assert resolve_db(f"duckdb://{file}").path == file.resolve()


@pytest.mark.parametrize("name", ["no_such_db", "x" * 5000, "a\x00b", "nosuch://x"])
def test_unknown_databases_raise_one_clear_line(name: str) -> None:
    with pytest.raises(DatabaseError) as info:
        resolve_db(name)
    assert len(str(info.value).splitlines()) == 1


def test_unknown_database_lists_known_names() -> None:
    with pytest.raises(DatabaseError, match=r"nycflights13, a sample database \(battle_death"):
        resolve_db("no_such_db")


def test_sample_folder_from_environment(tmp_path: Path, sample_dbs: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(sample_dbs / "singer.duckdb", tmp_path / "mine.duckdb")
    monkeypatch.setenv("DEVSTARL_SAMPLE_DBS", str(tmp_path))
    assert sample_db_names() == ["mine"]
    assert resolve_db("mine").path == (tmp_path / "mine.duckdb").resolve()
    with pytest.raises(DatabaseError):
        resolve_db("singer")


# Fuzz: malformed files raise TaskFileError and nothing else --------------------------------------

VALID = [task(id=f"f-{i}", db=db, split=split)
         for i, (db, split) in enumerate([("nycflights13", "train"), ("demo", "test"),
                                          ("concert_singer", None), ("nycflights13", "dev")])]
ODD_VALUES = [None, True, 0, -1, 1.5, float("nan"), "", " ", "x" * 20_000, [], [1, "a"], {},
              {"a": {"b": []}}, "\u2028\n\x00", 10**30, "easy", "test", "../../etc/passwd"]
RAW_ODDITIES = ["[" * 50_000, "9" * 5000, '{"id": 1e999}', "NaN", '"just a string"', "null",
                "{", "}", '{"id": "a" "db": "b"}', "\t"]


def mutate(rng: random.Random, record: dict) -> bytes:
    """One line, broken (or not) in one of the ways people and tools break JSONL."""
    record = dict(record)
    how = rng.choice(["truncate", "swap", "delete", "rename", "bytes", "raw", "dbname", "keep"])
    if how == "swap":
        record[rng.choice(list(record))] = rng.choice(ODD_VALUES)
    elif how == "delete" and record:
        del record[rng.choice(list(record))]
    elif how == "rename" and record:
        key = rng.choice(list(record))
        record[key[:-1] + rng.choice("xs_ ") if key else "k"] = record.pop(key)
    elif how == "dbname":
        record["db"] = "".join(rng.choice("abc_./\\~:x\x00") for _ in range(rng.randint(1, 12)))
    elif how == "raw":
        return rng.choice(RAW_ODDITIES).encode()
    line = json.dumps(record).encode()
    if how == "truncate":
        return line[: rng.randrange(len(line))]
    if how == "bytes":
        at = rng.randrange(len(line))
        return line[:at] + rng.randbytes(rng.randint(1, 8)) + line[at:]
    return line


def fuzz_file(rng: random.Random) -> bytes:
    if rng.random() < 0.03:
        return rng.choice([b"", b"\n\n", b" \t\r\n"])
    lines = [mutate(rng, dict(rng.choice(VALID), id=f"f-{i}")) if rng.random() < 0.5
             else json.dumps(dict(rng.choice(VALID), id=f"f-{i}")).encode()
             for i in range(rng.randint(1, 6))]
    if lines and rng.random() < 0.2:
        lines.append(rng.choice(lines))  # a duplicate line, so a duplicate id
    return b"\n".join(rng.sample(lines, len(lines)) if rng.random() < 0.5 else lines)


def assert_clean(path: Path) -> list[Task] | None:
    """Loads, or raises a TaskFileError whose every line is short and which names the file."""
    try:
        return load_tasks(path)
    except TaskFileError as e:
        message = str(e)
        assert str(path) in message
        assert all(len(line) <= MAX_LINE for line in message.splitlines()), message
        assert len(message.splitlines()) <= MAX_SHOWN + 2
        return None


def test_fuzzed_files_raise_only_task_file_errors(tmp_path: Path) -> None:
    rng = random.Random(5)
    outcomes = []
    for i in range(300):
        path = tmp_path / f"fuzz-{i}.jsonl"
        path.write_bytes(fuzz_file(rng))
        outcomes.append(assert_clean(path))
    failed = sum(o is None for o in outcomes)
    assert 100 < failed < 300, failed  # the generator breaks most files, not all


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=80),
                          st.text(max_size=80).map(str.encode),
                          st.dictionaries(st.sampled_from([*GOOD, "x"]),
                                          st.one_of(st.none(), st.booleans(), st.integers(),
                                                    st.text(max_size=20)),
                                          max_size=12).map(lambda d: json.dumps(d).encode())),
                max_size=5))
def test_arbitrary_lines_raise_only_task_file_errors(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "any.jsonl"
    path.write_bytes(b"\n".join(lines))
    assert_clean(path)
