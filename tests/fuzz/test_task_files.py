"""Task files (`harness.tasks.load_tasks`): whatever the bytes, the tasks load or one
TaskFileError names the file, and each problem is one line naming the file and its line.

A task file lists every problem at once (see harness/tasks.py): a first line that counts them
and names the file, then one `file:line: field ...` line per problem. A file that cannot be read
at all is a single line."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.tasks import MAX_LINE, MAX_SHOWN, Task, TaskFileError, load_tasks
from tests.fuzz.fuzzing import broken_line, counted, fuzz, json_values, mangled_record

GOOD = {"version": 1, "db": "singer", "question": "How many singers are there?",
        "gold_code": "singer.count()", "ordered": False, "difficulty": "easy",
        "source": "hand-written", "split": "dev", "category": "count"}


def good(i: int) -> dict:
    return dict(GOOD, id=f"fuzz-task-{i:03d}")


@st.composite
def task_files(draw: st.DrawFn) -> tuple[bytes, set[int], set[str]]:
    """A file of good, mangled and broken lines; the numbers of the lines that may be bad and
    the ids of the lines that are surely good."""
    kinds = draw(st.lists(st.sampled_from(["good", "good", "mangled", "broken", "blank"]),
                          min_size=1, max_size=8))
    lines, suspects, ids = [], set(), set()
    for n, kind in enumerate(kinds, 1):
        record = good(n)
        if kind == "good":
            lines.append(json.dumps(record).encode())
            ids.add(record["id"])
        elif kind == "mangled":
            lines.append(json.dumps(draw(mangled_record(record))).encode())
            suspects.add(n)
        elif kind == "broken":
            lines.append(draw(broken_line(json.dumps(record).encode())))
            suspects.add(n)
        else:
            lines.append(draw(st.sampled_from([b"", b"  ", b"\t", b"\r"])))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = eol.join(lines) + draw(st.sampled_from([b"", eol]))
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    # a broken line may hold a newline of its own: then the lines after it move down
    if any(b"\n" in line for line in lines):
        suspects |= set(range(1, data.count(b"\n") + 2))
    return data, suspects, ids


def check(path: Path, suspects: set[int] | None = None) -> list[Task] | TaskFileError:
    """The property: tasks of the right types, or a TaskFileError of well-formed lines that
    name the file (and, when `suspects` is given, only lines among them)."""
    shown = str(path)
    try:
        tasks = load_tasks(path)
    except TaskFileError as e:
        lines = str(e).splitlines()
        assert str(e) == "\n".join(lines), repr(str(e))  # no CR, form feed, U+2028, ...
        assert lines[0].strip() and shown in lines[0], lines[0]
        assert len(lines) <= MAX_SHOWN + 2
        numbers = []
        for line in lines[1:]:
            assert len(line) <= MAX_LINE, line
            if line.startswith("...and "):
                continue
            found = re.match(rf"{re.escape(shown)}:(\d+): \S", line)
            assert found, f"not a 'file:line: problem' line: {line!r}"
            numbers.append(int(found.group(1)))
        if suspects is not None:
            assert set(numbers) <= suspects, (numbers, suspects, lines)
        return e
    for t in tasks:
        assert all(isinstance(v, str) and v.strip() for v in (t.id, t.db, t.question)), t
        assert isinstance(t.ordered, bool) and t.version == 1, t
    return tasks


@fuzz(150)
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    counted("task files: random bytes")
    path = tmp_path / "random.jsonl"
    path.write_bytes(data)
    check(path)


@fuzz(150)
@given(file=task_files())
def test_good_mangled_and_broken_lines(tmp_path: Path, file: tuple[bytes, set[int], set[str]]
                                       ) -> None:
    counted("task files: good, mangled and broken lines")
    data, suspects, ids = file
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(data)
    result = check(path, suspects)
    if isinstance(result, list):
        assert ids <= {t.id for t in result}
    elif not suspects and ids:
        raise AssertionError(f"a file of good lines failed: {result}")


@fuzz(60)
@given(value=json_values, name=st.sampled_from(sorted({*GOOD, "id"})))
def test_each_field_of_any_json_type(tmp_path: Path, value: object, name: str) -> None:
    counted("task files: a field of any JSON type")
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(dict(good(1), **{name: value})) + "\n")
    result = check(path, {1})
    if isinstance(result, TaskFileError):
        assert f'field "{name}"' in str(result), str(result)
