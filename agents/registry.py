"""Which adapter serves which database: `<data>/adapters/registry.json`, and where adapters live.

`ask` and `synth` use a database's registered adapter unless told otherwise; `learn` registers a
new adapter only when it beats the current one on held-out tasks.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.paths import sub_dir


def adapters_dir() -> Path:
    return sub_dir("adapters")


def _registry_path() -> Path:
    return adapters_dir() / "registry.json"


def entries() -> dict[str, dict[str, Any]]:
    path = _registry_path()
    return json.loads(path.read_text()) if path.exists() else {}


def registered(db_name: str) -> Path | None:
    """The adapter folder registered for `db_name`, if it still exists."""
    entry = entries().get(db_name)
    if entry and (Path(entry["path"]) / "adapter_config.json").is_file():
        return Path(entry["path"])
    return None


def register(db_name: str, adapter: Path, scores: dict[str, Any]) -> None:
    data = entries()
    data[db_name] = {"path": str(adapter.resolve()), "scores": scores,
                     "registered_at": datetime.now(UTC).isoformat()}
    path = _registry_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
