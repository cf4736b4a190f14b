"""Where DevStarL keeps its data: the demo database, samples, caches, traces."""

from __future__ import annotations

import hashlib
import os
import tempfile
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


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never half of
    one. The temporary file's name is unique, so writers in several threads or processes (synth
    workers caching one schema) never rename one another's file away."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
