"""JSONL files of our own records that a user may hand over or edit: a database's bank of worked
examples (`agents.shots.read_shots`) and training data (`finetune.data.read_examples`). They
load, or one error names the file and the line at fault."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.shots import Shot, ShotsError, read_shots
from finetune.data import Example, read_examples
from tests.fuzz.fuzzing import broken_line, counted, fuzz, json_values, mangled_record, outcome
from tools.errors import DevstarlError

SHOT = {"question": "How many singers are there?", "code": "singer.count()"}
EXAMPLE = {"messages": [{"role": "system", "content": "Write an Ibis program."},
                        {"role": "user", "content": "### Question\nHow many singers?"},
                        {"role": "assistant", "content": "```python\nsinger.count()\n```"}],
           "source": "task:s-1", "question": "How many singers?"}


@st.composite
def mangled_example(draw: st.DrawFn) -> dict[str, Any]:
    example = json.loads(json.dumps(EXAMPLE))
    if draw(st.booleans()):
        return draw(mangled_record(example))
    at = draw(st.integers(0, len(example["messages"]) - 1))
    example["messages"][at] = draw(st.one_of(mangled_record(example["messages"][at]),
                                             json_values))
    return example


@st.composite
def line_files(draw: st.DrawFn, good: dict[str, Any],
               mangled: st.SearchStrategy[dict[str, Any]]) -> tuple[bytes, set[int]]:
    """Good, mangled, broken and blank lines; the numbers of the lines that may be bad."""
    kinds = draw(st.lists(st.sampled_from(["good", "good", "mangled", "broken", "blank"]),
                          min_size=1, max_size=6))
    lines, suspects = [], set()
    for n, kind in enumerate(kinds, 1):
        line = json.dumps(good).encode()
        if kind == "mangled":
            line = json.dumps(draw(mangled)).encode()
        elif kind == "broken":
            line = draw(broken_line(line))
        elif kind == "blank":
            line = draw(st.sampled_from([b"", b" ", b"\r", b"\t"]))
        suspects |= {n} if kind in ("mangled", "broken") else set()
        lines.append(line)
    data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    if any(b"\n" in line for line in lines):  # a broken line of two: the rest move down
        suspects |= set(range(1, data.count(b"\n") + 2))
    return data, suspects


READERS: dict[str, tuple[Callable[[Path], list[Any]], type[DevstarlError], type, dict[str, Any],
                         st.SearchStrategy[dict[str, Any]]]] = {
    "shots": (read_shots, ShotsError, Shot, SHOT, mangled_record(SHOT)),
    "examples": (read_examples, DevstarlError, Example, EXAMPLE, mangled_example()),
}


def check(reader: str, path: Path, suspects: set[int] | None = None) -> None:
    read, error, record, _, _ = READERS[reader]
    found = outcome(lambda: read(path), path.name, kinds=error)
    if isinstance(found, DevstarlError):
        line = re.search(rf"{re.escape(path.name)}:(\d+): ", str(found))
        if suspects is not None:
            assert line and int(line.group(1)) in suspects, (str(found), suspects)
        return
    assert all(isinstance(r, record) for r in found)
    if reader == "shots":
        assert all(isinstance(s.question, str) and isinstance(s.code, str) for s in found)
    else:
        assert all(isinstance(m["content"], str) for e in found for m in e.messages)


@pytest.mark.parametrize("reader", sorted(READERS))
@fuzz(60)
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, reader: str, data: bytes) -> None:
    counted(f"{reader} files: random bytes")
    path = tmp_path / f"{reader}.jsonl"
    path.write_bytes(data)
    check(reader, path)


@pytest.mark.parametrize("reader", sorted(READERS))
@fuzz(150)
@given(data=st.data())
def test_good_mangled_and_broken_lines(tmp_path: Path, reader: str, data: st.DataObject
                                       ) -> None:
    _, _, _, good, mangled = READERS[reader]
    content, suspects = data.draw(line_files(good, mangled))
    counted(f"{reader} files: good, mangled and broken lines")  # after the draw: it may abort
    path = tmp_path / f"{reader}.jsonl"
    path.write_bytes(content)
    check(reader, path, suspects)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_missing_file_and_directory(tmp_path: Path, reader: str) -> None:
    counted(f"{reader} files: missing, directory")
    check(reader, tmp_path / "missing.jsonl")
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    check(reader, folder)
