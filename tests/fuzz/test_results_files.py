"""Results files (`harness.synth.read_results`): a re-run reads what an earlier run wrote. Its
contract is to keep every whole, well-formed line before the first damaged one and cut the file
there (a killed run leaves a torn last line), so the property is: the results returned are
well-typed, they are exactly those of the lines kept, the file is only ever cut (never
rewritten), at a line boundary, and never before the first damaged line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.evaluate import Sample, TaskResult
from harness.synth import read_results
from tests.fuzz.fuzzing import broken_line, counted, deep, fuzz, json_values, mangled_record

SAMPLE = Sample(code="singer.count()", sql="SELECT COUNT(*) FROM singer", compiled=True,
                executed=True, correct=True, rounds=1, seconds=1.25, tokens=17, error=None,
                trace_id="tr-1").__dict__


def result(i: int) -> dict:
    return {"task_id": f"t-{i}", "db": "singer", "question": "How many singers?",
            "difficulty": "easy", "ordered": False, "samples": [dict(SAMPLE)], "version": 1}


@st.composite
def results_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """Lines of results, some mangled (a field of another type, missing, extra; a sample
    mangled the same way) or broken (bytes); and the offset of the first such line."""
    kinds = draw(st.lists(st.sampled_from(["good", "good", "mangled", "sample", "broken"]),
                          min_size=1, max_size=6))
    data, first_bad = b"", None
    for i, kind in enumerate(kinds):
        record = result(i % 4)  # ids repeat: the first of each is kept
        if kind == "mangled":
            record = draw(mangled_record(record))
        elif kind == "sample":
            record["samples"] = [draw(mangled_record(SAMPLE))]
        line = json.dumps(record).encode()
        if kind == "broken":
            line = draw(broken_line(line).filter(lambda b: not b.startswith((b"[[", b"{\"a\":"))))
        if kind != "good" and first_bad is None:
            first_bad = len(data)
        data += line + b"\n"
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # a torn write
    return data, len(data) if first_bad is None else first_bad


def check(path: Path, before: bytes) -> dict[str, TaskResult]:
    results = read_results(path)
    after = path.read_bytes()
    assert before.startswith(after), "the file was rewritten, not cut"
    assert after == b"" or after.endswith(b"\n"), "cut inside a line"
    expected: dict[str, TaskResult] = {}
    for line in after.splitlines():
        found = TaskResult.from_dict(json.loads(line))  # every kept line reads
        expected.setdefault(found.task_id, found)
    assert results == expected
    for r in results.values():
        assert all(isinstance(v, str) for v in (r.task_id, r.db, r.question))
        assert isinstance(r.ordered, bool) and isinstance(r.samples, list)
        for s in r.samples:
            assert isinstance(s, Sample)
            assert isinstance(s.compiled, bool) and isinstance(s.executed, bool)
            assert type(s.rounds) is int and type(s.tokens) is int
            assert isinstance(s.seconds, int | float) and not isinstance(s.seconds, bool)
            assert s.correct in (True, False, None) and s.first_try in (True, False, None)
            assert all(v is None or isinstance(v, str)
                       for v in (s.code, s.sql, s.error, s.trace_id))
    return results


@fuzz(120)
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    counted("results files: random bytes")
    path = tmp_path / "results.jsonl"
    path.write_bytes(data)
    check(path, data)


@fuzz(200)
@given(file=results_files())
def test_good_mangled_and_broken_lines(tmp_path: Path, file: tuple[bytes, int]) -> None:
    counted("results files: good, mangled and broken lines")
    data, first_bad = file
    path = tmp_path / "results.jsonl"
    path.write_bytes(data)
    check(path, data)
    whole_lines = data[: data[:first_bad].rfind(b"\n") + 1]
    assert path.read_bytes().startswith(whole_lines), "a good line before the damage was lost"


@fuzz(60)
@given(value=json_values)
def test_any_json_value_as_a_line(tmp_path: Path, value: object) -> None:
    counted("results files: any JSON value as a line")
    path = tmp_path / "results.jsonl"
    data = (json.dumps(result(0)) + "\n" + json.dumps(value) + "\n").encode()
    path.write_bytes(data)
    assert "t-0" in check(path, data)


# Found by fuzzing: json's RecursionError escaped, and a folder was read as a file.
def test_deeply_nested_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    data = (json.dumps(result(0)) + "\n" + deep(100_000) + "\n").encode()
    path.write_bytes(data)
    assert "t-0" in check(path, data)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    from tools.errors import DevstarlError

    path = tmp_path / "results.jsonl"
    path.mkdir()
    with pytest.raises(DevstarlError, match="results.jsonl"):
        read_results(path)
