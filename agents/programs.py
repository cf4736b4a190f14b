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
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ProgramError(f"no program file at {path}") from e
    except IsADirectoryError as e:
        raise ProgramError(f"{path} is a folder, not a program file") from e
    except OSError as e:
        raise ProgramError(f"cannot read program file {path}: {e.strerror or e}") from e
    except RecursionError as e:
        raise ProgramError(f"{path} is not a program JSON: nested too deeply") from e
    except ValueError as e:  # not UTF-8, not JSON, a number of more than 4300 digits
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
        if why := _state_problem(state):
            raise ProgramError(f"{path}: module {name!r} {why}")
    return modules


# What `Predict.dump_state` writes; DSPy sets every other key of a module's state as an
# attribute of the predictor on loading (a "forward" or "config" there would break it).
STATE_KEYS = ("traces", "train", "demos", "signature", "fields", "lm")


def _state_problem(state: dict[str, Any]) -> str | None:
    """Why a module's state (demos and instructions already checked) cannot load, or None."""
    unknown = sorted(set(state) - set(STATE_KEYS))
    if unknown:
        return f"has an unknown key {json.dumps(unknown[0])[:40]}"
    if state.get("lm") is not None:
        return "names an LM (an LM is a setting of the run, never part of a program)"
    if not all(isinstance(state.get(k, []), list) for k in ("traces", "train")):
        return "has traces or train that are not lists"
    if not isinstance(state.get("fields", {}), dict):
        return "has fields that are not an object"
    fields = state["signature"].get("fields", [])
    if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("prefix"), str)
            and isinstance(f.get("description"), str) for f in fields):
        return "needs signature fields that each have a prefix and a description"
    return None


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
