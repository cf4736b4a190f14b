"""One real index for the retrieval tests, built from the installed ibis into a temp cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.index import Index, load_index


@pytest.fixture(scope="session")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return load_index(Path(tmp_path_factory.mktemp("retrieval-cache")))
