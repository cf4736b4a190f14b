"""Writing the data folder's files: atomically, from many writers at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tools.paths import write_atomic


def test_writers_in_many_threads_never_rename_each_others_file(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "schema.json"  # its folder is made on first write
    texts = [f"writer {i}\n" * 1000 for i in range(16)]
    for _ in range(5):
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda text: write_atomic(path, text), texts))  # raises on a race
        assert path.read_text() in texts  # one writer's whole text
    assert [p.name for p in path.parent.iterdir()] == ["schema.json"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write_atomic(path, "old")
    with pytest.raises(TypeError):
        write_atomic(path, None)  # type: ignore[arg-type] - fails halfway, in write()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["registry.json"]
