"""An adapter merged into its base for serving: same logits as base + adapter, cached by
content, nothing left behind by a failed merge."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from serving.merge import MergeError, merged_folder


def _logits(folder: Path, adapter: Path | None = None):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    if adapter is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = PeftModel.from_pretrained(model, adapter)
    ids = AutoTokenizer.from_pretrained(folder)("flights.group_by(", return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits


def test_the_merged_model_computes_what_base_and_adapter_do(small_model: Path, tiny_adapter: Path,
                                                            tmp_path: Path) -> None:

    merged = merged_folder(tiny_adapter, small_model, cache=tmp_path)
    assert merged.name.startswith(f"{tiny_adapter.name}-") and (merged / "config.json").is_file()
    expected = _logits(small_model, tiny_adapter)
    adapter_effect = (expected - _logits(small_model)).abs().max()
    merge_error = (_logits(merged) - expected).abs().max()
    # The merged weights are rounded to the base's bfloat16 once more: close, not equal.
    assert adapter_effect > 1.0 and merge_error < adapter_effect / 10, (adapter_effect,
                                                                      merge_error)

    mtime = (merged / "config.json").stat().st_mtime_ns
    # Cached: no second merge.
    assert merged_folder(tiny_adapter, small_model, cache=tmp_path) == merged
    assert (merged / "config.json").stat().st_mtime_ns == mtime
    assert list(tmp_path.iterdir()) == [merged]


def test_a_retrained_adapter_is_merged_anew(small_model: Path, tiny_adapter: Path,
                                            tmp_path: Path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    first = merged_folder(tiny_adapter, small_model, cache=tmp_path)
    retrained = tmp_path / "adapters" / tiny_adapter.name
    shutil.copytree(tiny_adapter, retrained)
    weights = retrained / "adapter_model.safetensors"
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights)
    second = merged_folder(retrained, small_model, cache=tmp_path)
    assert second != first and (second / "config.json").is_file()


def test_a_failed_merge_leaves_nothing(small_model: Path, tiny_adapter: Path,
                                       tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text((tiny_adapter / "adapter_config.json").read_text())
    (broken / "adapter_model.safetensors").write_bytes(b"not safetensors")
    cache = tmp_path / "merged"
    with pytest.raises(MergeError, match="cannot merge"):
        merged_folder(broken, small_model, cache=cache)
    assert not any(cache.iterdir())
    with pytest.raises(MergeError, match="not a peft adapter folder"):
        merged_folder(tmp_path / "nothing-here", small_model, cache=cache)
