"""Registries and adapter folders: `agents.registry` (which adapter or program serves each
database) and the readers of a peft folder's adapter_config.json (`agents.session.adapter_fits`,
`serving.server.adapter_problem` and `lora_rank`).

A registry that is not one is a RegistryError naming the file; an adapter folder is a yes/no
question (does it fit, what is wrong with it) and answers without raising. The adapter card
(`adapter_card.json`) is written beside the peft files but read by nothing, so it has no reader
to fuzz."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents import programs, registry
from agents.registry import RegistryError, entries, register, registered
from agents.session import adapter_fits
from serving.server import adapter_problem, lora_rank
from tests.fuzz.fuzzing import (
    broken_line,
    counted,
    deep,
    fuzz,
    json_values,
    mangled_record,
    odd_text,
    outcome,
)

ENTRY = {"path": "/data/adapters/singer-v1", "scores": {"heldout_ex": 0.5},
         "registered_at": "2025-01-01T00:00:00+00:00"}
ADAPTER_CONFIG = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
                  "base_model_name_or_path": "/models/qwen2.5-coder-0.5b", "peft_type": "LORA"}


@st.composite
def registries(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from(["bytes", "broken", "entry", "entries", "value"]))
    good = {"singer": dict(ENTRY), "car_1": dict(ENTRY, path="/data/adapters/car-v2")}
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "broken":
        return draw(broken_line(json.dumps(good).encode()))
    if how == "entry":
        good[draw(st.sampled_from(sorted(good)))] = draw(mangled_record(ENTRY))
    elif how == "entries":
        good = draw(mangled_record(good))
    else:
        return json.dumps(draw(json_values)).encode()
    return json.dumps(good).encode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder, so `registered` reads the registry this test writes."""
    monkeypatch.setenv("DEVSTARL_HOME", str(tmp_path))
    return tmp_path


@fuzz(200)
@given(data=registries())
def test_registries(home: Path, data: bytes) -> None:
    counted("registry files")
    path = registry.adapters_dir() / "registry.json"
    path.write_bytes(data)
    (programs.programs_dir() / "registry.json").write_bytes(data)  # the same format
    found = outcome(lambda: entries(), "registry.json", kinds=RegistryError)
    if isinstance(found, dict):
        assert all(isinstance(e, dict) and isinstance(e["path"], str) for e in found.values())
        for name in found:
            assert registered(name) is None  # the folders named do not exist
            assert programs.registered_program(name) is None
        return
    # every reader of a registry says the same, and register() leaves a bad one alone
    outcome(lambda: registered("singer"), "registry.json", kinds=RegistryError)
    outcome(lambda: programs.registered_program("singer"), "registry.json", kinds=RegistryError)
    outcome(lambda: register("singer", home, {}), "registry.json", kinds=RegistryError)
    assert path.read_bytes() == data


@st.composite
def adapter_configs(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from(["bytes", "broken", "field", "field", "value", "deep"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "broken":
        return draw(broken_line(json.dumps(ADAPTER_CONFIG).encode()))
    if how == "field":
        return json.dumps(draw(mangled_record(ADAPTER_CONFIG))).encode()
    if how == "deep":
        return deep(draw(st.sampled_from([1000, 5000]))).encode()
    return json.dumps(draw(json_values)).encode()


@fuzz(200)
@given(data=adapter_configs(), model=st.one_of(st.just("qwen2.5-coder-0.5b"), odd_text))
def test_adapter_configs(tmp_path: Path, data: bytes, model: str) -> None:
    counted("adapter_config.json")
    (tmp_path / "adapter_config.json").write_bytes(data)
    assert adapter_fits(tmp_path, model) in (True, False)
    problem = adapter_problem(tmp_path)
    if problem is None:
        rank = lora_rank(tmp_path)
        assert type(rank) is int and rank >= 1
    else:
        assert isinstance(problem, str) and problem.splitlines() == [problem]
        assert "adapter_config.json" in problem


def test_registry_is_a_folder_or_unreadable(home: Path) -> None:
    counted("registry files")
    path = registry.adapters_dir() / "registry.json"
    path.mkdir()
    outcome(lambda: entries(), "registry.json", kinds=RegistryError)
    path.rmdir()
    path.write_text(json.dumps({"singer": ENTRY}))
    path.chmod(0)
    try:
        outcome(lambda: entries(), "registry.json", kinds=RegistryError)  # (root reads it)
    finally:
        path.chmod(0o600)


def test_a_full_disk_keeps_the_registry_as_it_was(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    path = tmp_path / "registry.json"
    register("flights", tmp_path / "v1", {"heldout_ex": 0.5}, path)
    before = path.read_bytes()

    def full(self: Path, *args, **kwargs) -> int:  # noqa: ANN002, ANN003, ARG001
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(RegistryError) as caught:
        register("flights", tmp_path / "v2", {"heldout_ex": 0.9}, path)
    monkeypatch.undo()
    assert str(path) in str(caught.value) and "No space left" in str(caught.value)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "registry.json"]
