"""Task files (DESIGN.md "Records"): one Task record a line, JSONL, checked before anything runs.

A bad file fails in one pass: every problem is collected and reported as one line naming the
file, the line and the field, so a user fixes them all at once instead of one per run.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from tools.database import Database, resolve
from tools.demo import DEMO_NAME
from tools.errors import DatabaseError, DevstarlError

TASK_VERSION = 1
DIFFICULTIES = ("easy", "medium", "hard")
SPLITS = ("train", "dev", "test")
# The test split is held out: it is never used for training or optimization (fine-tuning data,
# few-shot or prompt search, picking hyperparameters). Only these splits may be.
TRAIN_SPLITS = ("train", "dev")
DEMO_NAMES = (DEMO_NAME, "demo")

MAX_SHOWN = 10  # problems listed in one message; the rest are counted
MAX_LINE = 300  # no message line is longer, whatever the file holds


@dataclass(frozen=True)
class Task:
    """A question over a database, with its gold program when known."""

    id: str
    db: str  # a name for resolve_db: nycflights13/demo, a sample database, a DuckDB path, a URL
    question: str
    gold_code: str | None = None  # Ibis
    gold_sql: str | None = None
    ordered: bool = False  # whether row order matters when comparing with gold
    difficulty: str | None = None  # easy|medium|hard
    source: str = "hand-written"
    split: str | None = None  # train|dev|test
    category: str | None = None
    version: int = TASK_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return cls(**data)


FIELDS = tuple(f.name for f in fields(Task))
REQUIRED = ("id", "db", "question")


class TaskFileError(DevstarlError):
    """A task file that is missing, unreadable or holds bad records.

    `problems` holds every problem, one line each. Problems inside the file are listed under a
    first line that counts them (at most MAX_SHOWN shown); a file that cannot be read at all is
    one line."""

    def __init__(self, path: str, problems: list[str], *, listed: bool = True) -> None:
        self.path = path
        self.problems = problems
        if not listed:
            super().__init__(problems[0])
            return
        n = len(problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} in task file {path}:"]
        lines += problems[:MAX_SHOWN]
        if n > MAX_SHOWN:
            lines.append(f"...and {n - MAX_SHOWN} more")
        super().__init__("\n".join(lines))


def load_tasks(path: str | Path, *, splits: Iterable[str] | str | None = None) -> list[Task]:
    """The tasks of a JSONL file, in file order; only those in `splits` when given.

    Every line is checked (fields, types, values, unique ids, a database that resolves) before
    any task is returned; all problems raise together as one TaskFileError. Blank lines are
    skipped. Tasks without a split are left out whenever `splits` is given."""
    wanted = _check_splits(splits)
    shown = _short_path(str(path))
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise TaskFileError(shown, [f"task file not found: {shown}"], listed=False) from None
    except IsADirectoryError:
        raise TaskFileError(shown, [f"not a file: {shown}"], listed=False) from None
    except (OSError, ValueError) as e:  # permissions, a NUL in the name, ...
        why = getattr(e, "strerror", None) or str(e)
        raise TaskFileError(shown, [f"cannot read task file {shown}: {why}"], listed=False) from e

    problems: list[str] = []
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    dbs: dict[str, str | None] = {}  # name -> why it does not resolve; per call, files change
    seen_any = False

    def report(lineno: int, text: str) -> None:
        problems.append(_one_line(f"{shown}:{lineno}: {text}", MAX_LINE))

    for lineno, chunk in enumerate(raw.split(b"\n"), 1):
        if lineno == 1 and chunk.startswith(codecs.BOM_UTF8):  # some editors write one
            chunk = chunk[len(codecs.BOM_UTF8):]
        if not chunk.strip():
            continue
        seen_any = True
        record = _parse(chunk)
        if isinstance(record, str):
            report(lineno, record)
            continue

        before = len(problems)
        for text in _check_record(record):
            report(lineno, text)
        task_id = record.get("id")
        if isinstance(task_id, str) and task_id.strip():
            if task_id in first_line:
                report(lineno, f'field "id": duplicate id {_show(task_id)} '
                       f"(first on line {first_line[task_id]})")
            else:
                first_line[task_id] = lineno
        db = record.get("db")
        if isinstance(db, str) and db.strip():
            if db not in dbs:
                dbs[db] = _why_unresolved(db)
            if dbs[db] is not None:
                report(lineno, f'field "db": {dbs[db]}')
        if len(problems) == before:
            tasks.append(Task.from_dict(dict(record)))

    if not seen_any:
        raise TaskFileError(shown, [f"no tasks in {shown}: the file is empty"], listed=False)
    if problems:
        raise TaskFileError(shown, problems)
    if wanted is not None:
        tasks = [t for t in tasks if t.split in wanted]
    return tasks


def training_tasks(tasks: Iterable[Task]) -> list[Task]:
    """The tasks that training and optimization may use: never the test split.

    Tasks without a split (e.g. the reference set) are kept; test-split tasks are only ever
    evaluated on. Fine-tuning (issue 6) and prompt optimization (issue 8) take their data here."""
    return [t for t in tasks if t.split is None or t.split in TRAIN_SPLITS]


def split_of(tasks: Iterable[Task], name: str) -> list[Task]:
    """The tasks of one split (train, dev or test)."""
    (wanted,) = _check_splits([name])
    return [t for t in tasks if t.split == wanted]


# Databases ------------------------------------------------------------------------------------


def sample_dbs_dir() -> Path | None:
    """The sample databases: $DEVSTARL_SAMPLE_DBS, else ../shared/sample-dbs beside the
    project, else /work/shared/sample-dbs; the first that exists (None if none does)."""
    env = os.environ.get("DEVSTARL_SAMPLE_DBS")
    places = [Path(env).expanduser()] if env else []
    places += [Path(__file__).resolve().parents[2] / "shared" / "sample-dbs",
               Path("/work/shared/sample-dbs")]
    return next((p for p in places if p.is_dir()), None)


def sample_db_names() -> list[str]:
    """Names of the sample databases (file stems, e.g. "concert_singer"), sorted."""
    folder = sample_dbs_dir()
    if folder is None:
        return []
    return sorted(p.stem for p in folder.glob("*.duckdb") if p.is_file())


def resolve_db(name: str | Path) -> Database:
    """A task's database: "nycflights13"/"demo", an Ibis URL, a sample database's name, or a
    DuckDB file. Raises DatabaseError, one line, for anything else."""
    text = str(name)
    if text in DEMO_NAMES:
        return resolve(None)
    try:
        if "://" in text:
            return resolve(text)
        folder = sample_dbs_dir()
        if folder is not None and "/" not in text and os.sep not in text:
            sample = folder / f"{text}.duckdb"
            if sample.is_file():
                return resolve(sample)
        path = Path(text).expanduser()
        if path.exists():
            return resolve(path)
    except (OSError, ValueError, RuntimeError) as e:  # a NUL byte, an unknown ~user, ...
        raise DatabaseError(f"cannot use database {_show(text)}: {e}") from e
    raise DatabaseError(_unknown_db(text))


def _unknown_db(text: str) -> str:
    if "/" in text or os.sep in text or text.endswith(".duckdb"):  # a path: name the file
        return f"database file not found: {_short_path(text)}"
    samples = sample_db_names()
    close = difflib.get_close_matches(text, [*DEMO_NAMES, *samples], n=1, cutoff=0.6)
    hint = f" (did you mean {_show(close[0])}?)" if close else ""
    few = ", ".join(samples[:4]) + (", ..." if len(samples) > 4 else "")
    known = f"a sample database ({few}), " if samples else ""
    return (f"unknown database {_show(text)}{hint}: give {DEMO_NAME}, {known}"
            "a DuckDB file or an Ibis URL")


def _why_unresolved(db: str) -> str | None:
    try:
        resolve_db(db)
    except DevstarlError as e:
        return str(e)
    return None


# Checking one record ---------------------------------------------------------------------------


def _parse(chunk: bytes) -> dict[str, Any] | str:
    """One line's JSON object, or what is wrong with the line."""
    try:
        line = chunk.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text (byte 0x{chunk[e.start]:02x} at column {e.start + 1})"
    try:
        record = json.loads(line, object_pairs_hook=_Object)
    except json.JSONDecodeError as e:
        return f"not valid JSON: {e.msg} (column {e.colno})"
    except RecursionError:
        return "not valid JSON: nested too deeply"
    except ValueError as e:  # e.g. a number of more than 4300 digits
        return f"not valid JSON: {str(e).split(';')[0]}"
    if not isinstance(record, dict):
        return f"expected a JSON object {{...}}, got {_kind(record)}"
    return record


class _Object(dict):
    """A JSON object that remembers keys it saw twice (json keeps the last one silently)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(k for k, _ in pairs)
        self.repeated = sorted(k for k, n in counts.items() if n > 1)


def _check_record(record: dict[str, Any]) -> list[str]:
    problems = [f"field {_show(k)} appears more than once" for k in getattr(record, "repeated", [])]
    for name in REQUIRED:
        if name not in record:
            problems.append(f"missing required field {_show(name)}")
    for name, value in record.items():
        check = _CHECKS.get(name)
        if check is None:
            close = difflib.get_close_matches(name.lower(), FIELDS, n=1, cutoff=0.6)
            hint = f" (did you mean {_show(close[0])}?)" if close else ""
            problems.append(f"unknown field {_show(name)}{hint}")
        elif (why := check(value)) is not None:
            problems.append(f"field {_show(name)}: {why}")
    return problems


def _text(optional: bool) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            wanted = "a string or null" if optional else "a string"
            return f"expected {wanted}, got {_kind(value)}"
        return None if value.strip() else "must not be empty"

    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            return f"expected one of {', '.join(options)} or null, got {_kind(value)}"
        if value not in options:
            return f"unknown value {_show(value)}; expected one of {', '.join(options)}"
        return None

    return check


def _ordered(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {_kind(value)}"


def _version(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected the number {TASK_VERSION}, got {_kind(value)}"
    if value != TASK_VERSION:
        return f"unsupported version {value} (this loader reads version {TASK_VERSION})"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "id": _text(optional=False),
    "db": _text(optional=False),
    "question": _text(optional=False),
    "gold_code": _text(optional=True),
    "gold_sql": _text(optional=True),
    "ordered": _ordered,
    "difficulty": _choice(DIFFICULTIES),
    "source": _text(optional=False),
    "split": _choice(SPLITS),
    "category": _text(optional=True),
    "version": _version,
}
assert set(_CHECKS) == set(FIELDS), "every Task field needs a check"


def _check_splits(splits: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if splits is None:
        return None
    names = (splits,) if isinstance(splits, str) else tuple(splits)
    bad = [s for s in names if s not in SPLITS]
    if bad:
        raise DevstarlError(f"unknown split {_show(bad[0])}: expected {', '.join(SPLITS)}")
    return names


# Messages ---------------------------------------------------------------------------------------

_KINDS = ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"),
          (list, "an array"), (dict, "an object"))
# Characters that end a line for str.splitlines(): never let a value break a message line.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for cls, name in _KINDS:
        if isinstance(value, cls):
            return f"{name} {_show(value)}" if cls in (bool, int, float, str) else name
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as short JSON: strings cut at 40 characters, numbers at 20 digits."""
    if isinstance(value, str):
        return json.dumps(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, bool | float) or value is None:
        return json.dumps(value)  # true, null, NaN: as the file spells them
    if isinstance(value, int) and abs(value) >= 10**20:
        return "a huge number"
    return _one_line(repr(value), 40)


def _one_line(text: str, limit: int) -> str:
    text = _LINE_BREAKS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                            else f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _short_path(path: str) -> str:
    """The path as given, its tail kept when long: the file name is what a user looks for."""
    path = _one_line(path, len(path) * 6)
    return path if len(path) <= 120 else "..." + path[-117:]
