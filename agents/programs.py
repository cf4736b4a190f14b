"""Optimized programs: what `devstarl optimize` compiles, saved as JSON (instructions + demos of
each module, never pickled code), with a card of scores, and registered per database.

`<data>/programs/<db>/<optimizer>-<time>.json` (+ `.card.json`); `<data>/programs/registry.json`
names each database's current program, which `ask` and `synth` load by default.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dspy

from agents.registry import entries, register, write_json
from tools.errors import DevstarlError
from tools.paths import sub_dir

FORMAT = "devstarl-program/1"
MODULES = ("draft", "reflect", "revise")


class ProgramError(DevstarlError):
    """A file that is not a saved DevStarL program, or one that does not fit the pipeline."""


def programs_dir() -> Path:
    return sub_dir("programs")


def save_program(agent: dspy.Module, path: Path, card: dict[str, Any]) -> Path:
    """Write the agent's module state (no LM settings) to `path` and its card beside it."""
    predictors = dict(agent.named_predictors())
    lms = {name: p.lm for name, p in predictors.items()}
    try:
        for p in predictors.values():
            p.lm = None  # an LM is a setting of the run, not part of the program
        state = agent.dump_state()
    finally:
        for name, p in predictors.items():
            p.lm = lms[name]
    modules = {name: state[name] for name in MODULES}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"format": FORMAT, "modules": modules})
    write_json(card_path(path), card)
    return path


def card_path(path: Path) -> Path:
    return path.with_name(path.stem + ".card.json")


def read_program(path: Path) -> dict[str, dict[str, Any]]:
    """The module states in `path`; `ProgramError` (one line) unless it is a saved program."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ProgramError(f"no program file at {path}") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProgramError(f"{path} is not a program JSON: {e}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProgramError(f"{path} is not a DevStarL program (no \"format\": \"{FORMAT}\")")
    modules = data.get("modules")
    if not isinstance(modules, dict) or set(modules) != set(MODULES):
        raise ProgramError(f"{path}: a program has exactly the modules {', '.join(MODULES)}")
    for name, state in modules.items():
        ok = (isinstance(state, dict) and isinstance(state.get("demos"), list)
              and all(isinstance(d, dict) for d in state["demos"])
              and isinstance(state.get("signature"), dict)
              and isinstance(state["signature"].get("instructions"), str))
        if not ok:
            raise ProgramError(f"{path}: module {name!r} needs a demos list and signature "
                               "instructions")
    return modules


def load_program(agent: dspy.Module, path: Path) -> dspy.Module:
    """Load the program at `path` into `agent` (its LM kept); return the agent."""
    modules = read_program(path)
    lms = {name: p.lm for name, p in agent.named_predictors()}
    try:
        agent.load_state(modules)
    except (KeyError, TypeError, ValueError) as e:
        raise ProgramError(f"{path} does not fit the pipeline's modules: {e}") from e
    for name, predictor in agent.named_predictors():
        predictor.lm = lms[name]
    return agent


def new_program_path(db_name: str, optimizer: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return programs_dir() / db_name / f"{optimizer}-{stamp}.json"


def registered_program(db_name: str) -> Path | None:
    entry = entries(_registry()).get(db_name)
    return Path(entry["path"]) if entry and Path(entry["path"]).is_file() else None


def register_program(db_name: str, path: Path, scores: dict[str, Any]) -> None:
    register(db_name, path, scores, _registry())


def _registry() -> Path:
    return programs_dir() / "registry.json"
