"""Shared fixtures: an isolated data folder, the demo database, one warm sandbox."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any project module looks up the data folder: tests never touch the user's data.
os.environ["DEVSTARL_HOME"] = tempfile.mkdtemp(prefix="devstarl-test-home-")
os.environ["DSPY_CACHEDIR"] = os.path.join(os.environ["DEVSTARL_HOME"], "dspy_cache")
os.environ.setdefault("WANDB_MODE", "disabled")

from tools.database import Database, resolve  # noqa: E402
from tools.sandbox import Sandbox  # noqa: E402
from tools.schema import Schema, inspect  # noqa: E402

# ../shared/sample-dbs beside the checkout, else the workplace's shared folder.
SAMPLE_DB_PLACES = [Path(__file__).resolve().parents[2] / "shared" / "sample-dbs",
                    Path("/work/shared/sample-dbs")]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(os.environ["DEVSTARL_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def demo_db() -> Database:
    return resolve(None)


@pytest.fixture(scope="session")
def demo_schema(demo_db: Database) -> Schema:
    return inspect(demo_db)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    yield box
    box.close()


@pytest.fixture(scope="session")
def sample_dbs() -> Path:
    """The 20 read-only Spider databases in ../shared/sample-dbs ($DEVSTARL_SAMPLE_DBS wins)."""
    places = [Path(p) for p in [os.environ.get("DEVSTARL_SAMPLE_DBS")] if p] + SAMPLE_DB_PLACES
    found = next((p for p in places if p.is_dir()), None)
    assert found is not None, f"sample databases not found in {[str(p) for p in places]}"
    return found


@pytest.fixture(scope="session")
def bundled(request: pytest.FixtureRequest) -> Path:
    """The converted bundled model, also where `LMConfig()` (model='bundled') looks for it.

    Converted once into pytest's cache folder, then linked into the test data folder."""
    from agents.lm import bundled_model_dir
    from tools.paths import sub_dir

    cache = getattr(request.config, "cache", None)
    root = cache.mkdir("devstarl-models") if cache is not None else None
    path = bundled_model_dir(root)
    link = sub_dir("models") / path.name
    if not link.exists():
        link.symlink_to(path, target_is_directory=True)
    return path
