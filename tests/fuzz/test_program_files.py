"""Program files (`agents.programs.read_program`, `load_program`): a file that is not a saved
program, or one that does not fit the pipeline's modules, is one ProgramError naming the file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import dspy
from hypothesis import given
from hypothesis import strategies as st

from agents.programs import FORMAT, MODULES, ProgramError, load_program, read_program
from agents.signatures import DraftIbis, Reflect, Revise
from tests.fuzz.fuzzing import (
    broken_line,
    counted,
    deep,
    fuzz,
    json_values,
    mangled_record,
    outcome,
)


class Modules(dspy.Module):
    """The pipeline's three predictors and nothing else (what `load_program` fills)."""

    def __init__(self) -> None:
        super().__init__()
        self.draft = dspy.Predict(DraftIbis)
        self.reflect = dspy.Predict(Reflect)
        self.revise = dspy.Predict(Revise)


DEMO = {"question": "How many singers?", "tables": "table singer", "code": "singer.count()"}


def saved() -> dict[str, Any]:
    """A program as `save_program` writes it, with one demo per module."""
    state = Modules().dump_state()
    for name in MODULES:
        state[name]["demos"] = [dict(DEMO)]
    return {"format": FORMAT, "modules": {name: state[name] for name in MODULES}}


SAVED = saved()


@st.composite
def programs(draw: st.DrawFn) -> dict[str, Any]:
    """A saved program mangled at one level: the file, a module, its signature, a field of the
    signature, a demo."""
    program = copy.deepcopy(SAVED)
    module = program["modules"][draw(st.sampled_from(MODULES))]
    level = draw(st.sampled_from(["file", "modules", "module", "signature", "field", "demo"]))
    if level == "file":
        return draw(mangled_record(program))
    if level == "modules":
        program["modules"] = draw(mangled_record(program["modules"]))
    elif level == "module":
        module.clear()
        module.update(draw(mangled_record(copy.deepcopy(SAVED["modules"]["draft"]))))
    elif level == "signature":
        module["signature"] = draw(mangled_record(module["signature"]))
    elif level == "field":
        fields = module["signature"]["fields"]
        at = draw(st.integers(0, len(fields) - 1))
        fields[at] = draw(st.one_of(mangled_record(fields[at]), json_values))
    else:
        module["demos"] = draw(st.one_of(st.lists(json_values, max_size=3),
                                         st.lists(mangled_record(DEMO), max_size=2)))
    return program


def check(path: Path) -> None:
    """Reads and loads into the modules, or one ProgramError naming the file."""
    modules = outcome(lambda: read_program(path), path.name, kinds=ProgramError)
    if isinstance(modules, dict):
        loaded = outcome(lambda: load_program(Modules(), path), path.name, kinds=ProgramError)
        if isinstance(loaded, Modules):  # only what a program holds changed
            for name, predictor in loaded.named_predictors():
                assert set(vars(predictor)) == FRESH, name
                assert predictor.lm is None and predictor.config == {}, name
                assert isinstance(predictor.signature.instructions, str), name


FRESH = set(vars(dspy.Predict(DraftIbis)))


@fuzz(100)
@given(data=st.binary(max_size=400))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    counted("program files: random bytes")
    path = tmp_path / "program.json"
    path.write_bytes(data)
    check(path)


@fuzz(150)
@given(program=programs())
def test_mangled_programs(tmp_path: Path, program: dict[str, Any]) -> None:
    counted("program files: mangled at each level")
    path = tmp_path / "program.json"
    path.write_text(json.dumps(program))
    check(path)


@fuzz(60)
@given(line=broken_line(json.dumps(SAVED).encode()))
def test_broken_bytes(tmp_path: Path, line: bytes) -> None:
    counted("program files: broken bytes")
    path = tmp_path / "program.json"
    path.write_bytes(line)
    check(path)


def test_deep_nesting_and_directory(tmp_path: Path) -> None:
    counted("program files: deep nesting, directory")
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps(dict(SAVED, format=FORMAT))[:-1] + ', "x": ' + deep(100_000)
                      + "}")
    check(nested)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    check(folder)
    check(tmp_path / "missing.json")
