"""A learning turn's checkpoint: what each finished phase produced, so `learn --resume` goes on
after a kill from the phase that was running, not from the start.

One turn in progress per database, in `<data>/turns/<db>/`: `turn.json` (the settings' hash,
the parent adapter and trace window fixed when the turn began, each finished phase's result)
and whatever a phase keeps there to resume inside itself (the scoring phases' results files).
The file is rewritten whole after each phase (`write_json`), so a kill leaves the previous
phase's state. A finished turn removes its folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.registry import write_json
from tools.errors import DevstarlError
from tools.paths import sub_dir

STATE = "turn.json"


class TurnError(DevstarlError):
    """No turn to resume, or one begun with other settings."""


def settings_hash(config: Any) -> str:
    return hashlib.sha256(json.dumps(asdict(config), sort_keys=True, default=str)
                          .encode()).hexdigest()[:12]


@dataclass
class Turn:
    folder: Path
    state: dict[str, Any]
    progress: bool = True
    earlier: float = 0.0  # seconds of the phases finished before a resume

    @classmethod
    def begin(cls, db_name: str, config: Any, fixed: dict[str, Any],
              progress: bool = True) -> Turn:
        """A new turn (an unfinished one of this database is dropped); `fixed` holds what it
        decides once: its parent, trace window and adapter folder."""
        folder = turns_dir(db_name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        turn = cls(folder, {"db": db_name, "settings": settings_hash(config),
                            "config": asdict(config), **fixed, "phases": {}}, progress)
        turn.save()
        return turn

    @classmethod
    def resume(cls, db_name: str, config: Any, progress: bool = True) -> Turn:
        folder = turns_dir(db_name)
        try:
            state = json.loads((folder / STATE).read_text())
        except FileNotFoundError:
            raise TurnError(f"no unfinished learning turn for {db_name} to resume; run learn "
                            "without --resume") from None
        except (OSError, ValueError) as e:
            raise TurnError(f"cannot read {folder / STATE}: {e}; run learn without --resume "
                            "to start over") from e
        if state.get("settings") != settings_hash(config):
            differ = sorted(k for k, v in asdict(config).items()
                            if json.loads(json.dumps(v, default=str))
                            != (state.get("config") or {}).get(k))
            raise TurnError(f"the unfinished turn for {db_name} was begun with other settings "
                            f"({', '.join(differ) or 'unknown'}); resume with the same ones, or "
                            "run without --resume to start over")
        earlier = sum(p.get("seconds", 0.0) for p in (state.get("phases") or {}).values())
        return cls(folder, state, progress, earlier)

    def phase(self, name: str, number: int, total: int,
              run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The result of phase `name`: kept from before when it finished then, else run now
        (with a heading line) and kept."""
        done = self.state["phases"].get(name)
        if done is not None:
            self.say(f"[{number}/{total}] {name}: done before, kept")
            return done
        self.say(f"[{number}/{total}] {name}")
        started = time.perf_counter()
        result = run()
        result["seconds"] = round(time.perf_counter() - started, 1)
        self.state["phases"][name] = result
        self.save()
        self.say(f"[{number}/{total}] {name}: {result['seconds']:.0f} s")
        return result

    def save(self) -> None:
        write_json(self.folder / STATE, self.state)

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def say(self, line: str) -> None:
        if self.progress:
            print(f"learn {self.state['db']} {line}", file=sys.stderr, flush=True)


def turns_dir(db_name: str) -> Path:
    return sub_dir("turns") / db_name
