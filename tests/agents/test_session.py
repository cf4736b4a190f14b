"""A database's registered adapter is used only with the base model it was trained on."""

from __future__ import annotations

import json
from pathlib import Path

from agents.lm import LMConfig
from agents.session import adapter_fits


def _adapter(tmp_path: Path, base: str | None) -> Path:
    folder = tmp_path / "adapter"
    folder.mkdir()
    config = {"peft_type": "LORA"} | ({"base_model_name_or_path": base} if base else {})
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


def test_an_adapter_fits_the_base_it_names(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "/data/devstarl/models/qwen2.5-coder-0.5b")
    assert adapter_fits(adapter, "qwen2.5-coder-0.5b")
    assert adapter_fits(adapter, "/elsewhere/qwen2.5-coder-0.5b")
    assert not adapter_fits(adapter, "smollm2-135m")


def test_an_adapter_of_the_old_bundled_model_does_not_fit_the_new_default(tmp_path) -> None:
    adapter = _adapter(tmp_path, "/root/.local/share/devstarl/models/SmolLM2-135M-Instruct")
    assert not adapter_fits(adapter, LMConfig().model)


def test_an_unreadable_adapter_never_fits(tmp_path: Path) -> None:
    assert not adapter_fits(tmp_path / "missing", "qwen2.5-coder-0.5b")
    assert adapter_fits(_adapter(tmp_path, None), "anything")  # names no base: trusted
