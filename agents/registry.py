"""Which adapter serves which database: `<data>/adapters/registry.json`, and where adapters live.

`ask` and `synth` use a database's registered adapter unless told otherwise; `learn` registers a
new adapter only when it beats the current one on held-out tasks. The same registry file format
(database -> path, scores, time) also names each database's optimized program (`programs.py`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.errors import DevstarlError
from tools.paths import sub_dir, write_atomic


def adapters_dir() -> Path:
    return sub_dir("adapters")


def _registry_path() -> Path:
    return adapters_dir() / "registry.json"


class RegistryError(DevstarlError):
    """A registry file that cannot be read, or holds something other than entries."""


def entries(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Database name -> entry of a registry file (default: the adapters' registry); none when
    the file does not exist. RegistryError (one line) when it is not a registry."""
    path = path or _registry_path()
    if not path.exists():
        return {}
    fix = "fix or delete it"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RegistryError(f"cannot read registry {path}: {e.strerror or e}") from e
    except RecursionError as e:
        raise RegistryError(f"registry {path} is not JSON: nested too deeply ({fix})") from e
    except ValueError as e:  # not UTF-8, not JSON
        raise RegistryError(f"registry {path} is not JSON: {e} ({fix})") from e
    if not isinstance(data, dict):
        raise RegistryError(f"registry {path} is not an object of database entries ({fix})")
    for name, entry in data.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and entry["path"].strip()):
            raise RegistryError(f"registry {path}: entry {json.dumps(name)[:40]} has no "
                                f'"path" string ({fix})')
    return data


def registered(db_name: str) -> Path | None:
    """The adapter folder registered for `db_name`, if it still exists."""
    entry = entries().get(db_name)
    if entry and (Path(entry["path"]) / "adapter_config.json").is_file():
        return Path(entry["path"])
    return None


def register(db_name: str, adapter: Path, scores: dict[str, Any],
             path: Path | None = None) -> None:
    """Make `adapter` (or, with `path`, any file in that registry) the database's current one."""
    path = path or _registry_path()
    data = entries(path)
    data[db_name] = {"path": str(Path(adapter).resolve()), "scores": scores,
                     "registered_at": datetime.now(UTC).isoformat()}
    write_json(path, data)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    try:
        write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")
    except OSError as e:
        raise RegistryError(f"cannot write {path}: {e.strerror or e}; it is unchanged") from e
