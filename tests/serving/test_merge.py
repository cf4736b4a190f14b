"""An adapter merged into its base for serving: same logits as base + adapter, cached by
content, nothing left behind by a failed merge."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from serving.merge import MergeError, merged_folder


@pytest.fixture(scope="module")
def lora(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA (r=4 on q_proj, v_proj) on the small model, moved away from a no-op."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8,
                                                target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:  # zero at init: the adapter would change nothing
                weight.normal_(0.0, 0.2)
    path = tmp_path_factory.mktemp("adapters") / "db-20261207"
    model.save_pretrained(path)
    return path


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


def test_the_merged_model_computes_what_base_and_adapter_do(small_model: Path, lora: Path,
                                                            tmp_path: Path) -> None:

    merged = merged_folder(lora, small_model, cache=tmp_path)
    assert merged.name.startswith("db-20261207-") and (merged / "config.json").is_file()
    expected = _logits(small_model, lora)
    adapter_effect = (expected - _logits(small_model)).abs().max()
    merge_error = (_logits(merged) - expected).abs().max()
    # The merged weights are rounded to the base's bfloat16 once more: close, not equal.
    assert adapter_effect > 1.0 and merge_error < adapter_effect / 10, (adapter_effect,
                                                                      merge_error)

    mtime = (merged / "config.json").stat().st_mtime_ns
    assert merged_folder(lora, small_model, cache=tmp_path) == merged  # cached: no second merge
    assert (merged / "config.json").stat().st_mtime_ns == mtime
    assert list(tmp_path.iterdir()) == [merged]


def test_a_retrained_adapter_is_merged_anew(small_model: Path, lora: Path,
                                            tmp_path: Path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    first = merged_folder(lora, small_model, cache=tmp_path)
    retrained = tmp_path / "adapters" / lora.name
    shutil.copytree(lora, retrained)
    weights = retrained / "adapter_model.safetensors"
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights)
    second = merged_folder(retrained, small_model, cache=tmp_path)
    assert second != first and (second / "config.json").is_file()


def test_a_failed_merge_leaves_nothing(small_model: Path, lora: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text((lora / "adapter_config.json").read_text())
    (broken / "adapter_model.safetensors").write_bytes(b"not safetensors")
    cache = tmp_path / "merged"
    with pytest.raises(MergeError, match="cannot merge"):
        merged_folder(broken, small_model, cache=cache)
    assert not any(cache.iterdir())
    with pytest.raises(MergeError, match="not a peft adapter folder"):
        merged_folder(tmp_path / "nothing-here", small_model, cache=cache)
