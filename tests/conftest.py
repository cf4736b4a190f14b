"""Shared fixtures: an isolated data folder, the demo database, one warm sandbox."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

# Models setup.sh installed for the user: tests read them (never write) instead of converting
# a second copy.
USER_MODELS = Path(os.environ.get("DEVSTARL_HOME") or platformdirs.user_data_dir(
    "devstarl", appauthor=False)).expanduser() / "models"
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


@pytest.fixture(scope="session", autouse=True)
def no_implicit_event_loop() -> None:
    """litellm's blocking calls (the server backend) take `asyncio.get_event_loop()`, which on
    the main thread makes a loop, sets it and never closes it; the next `asyncio.run` replaces
    it and the garbage collector later warns of an unclosed loop inside whatever test runs
    then (a failure: warnings are errors). With the current loop unset, litellm runs its hook
    under `asyncio.run`, which closes its loop."""
    asyncio.set_event_loop(None)


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


def installed_model(request: pytest.FixtureRequest, name: str) -> Path:
    """Catalogue model `name`, installed once into pytest's cache folder (later runs skip the
    download and conversion) and linked into the test data folder's `models/`, where
    `LMConfig(model=name)` looks for it."""
    from agents.lm.catalogue import is_installed, lookup, model_dir
    from agents.lm.install import install
    from tools.paths import sub_dir

    if is_installed(lookup(name), USER_MODELS):
        path = model_dir(lookup(name), USER_MODELS)
    else:
        cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
        path = install(name, root=cache.mkdir("devstarl-models") if cache else None,
                       progress=False)
    link = sub_dir("models") / name
    if not link.exists():
        link.symlink_to(path, target_is_directory=True)
    return path


@pytest.fixture(scope="session")
def default_model(request: pytest.FixtureRequest) -> Path:
    """The default model (Qwen2.5-Coder-0.5B-Instruct): what `LMConfig()` loads."""
    from agents.lm import DEFAULT_MODEL

    return installed_model(request, DEFAULT_MODEL)


@pytest.fixture(scope="session")
def small_model(request: pytest.FixtureRequest) -> Path:
    """SmolLM2-135M-Instruct (`smollm2-135m`): for tests that need a real model, fast."""
    return installed_model(request, "smollm2-135m")


@pytest.fixture(scope="session")
def tiny_adapter(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA (r=4 on q_proj, v_proj) whose weights are moved away from a no-op."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32)
    with warnings.catch_warnings():  # peft 0.21 reads a property transformers 5 deprecated
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated",
                                FutureWarning)
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8,
                                                target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:  # zero at init: the adapter would change nothing
                weight.normal_(0.0, 0.2)
    path = tmp_path_factory.mktemp("adapters") / "tiny-lora"
    model.save_pretrained(path)
    return path
