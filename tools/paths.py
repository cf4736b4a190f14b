"""Where DevStarL keeps its data: the demo database, samples, caches, traces."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
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


def content_key(tag: str, paths: Iterable[Path], length: int = 32) -> str:
    """A cache key from `tag` and the names and bytes of `paths`: what is derived from these
    files is derived again when any of them changes."""
    h = hashlib.sha256(f"{tag}\0".encode())
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:length]
