"""Where DevStarL keeps its data: the demo database, samples, caches, traces."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """`$DEVSTARL_HOME` if set, else the platform's user data folder."""
    root = os.environ.get("DEVSTARL_HOME") or platformdirs.user_data_dir(
        "devstarl", appauthor=False
    )
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sub_dir(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
