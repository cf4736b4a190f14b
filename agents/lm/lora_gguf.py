"""A peft LoRA adapter as llama.cpp's GGUF LoRA, so the llama.cpp runtime can apply it.

The layout is that of llama.cpp's `convert_lora_to_gguf.py`: for each adapted weight
`<gguf name>.weight`, tensors `<gguf name>.weight.lora_a` (peft's lora_A, rank x in) and
`.lora_b` (lora_B, out x rank) in float32, with `general.type=adapter`, `adapter.type=lora`,
`adapter.lora.alpha` and the base's `general.architecture`. llama.cpp scales each product by
alpha / rank, rank read from that tensor's shape, as peft does (so peft's `rank_pattern`
carries over; an `alpha_pattern` does not).

Only architectures whose weights llama.cpp keeps in the Hugging Face row order, or in an order
this module reproduces, are converted: for Llama, llama.cpp's converter permutes the rows of
q_proj and k_proj for its rotary layout, and the LoRA B matrices must follow. Anything the
format cannot carry is refused with `AdapterNotConvertible`, never converted approximately.

Converted files are cached under the data folder (`lora-gguf/`), keyed by the content of the
adapter's config and weights and the base's config.json, and written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from agents.lm.errors import LMConfigError
from tools.paths import content_key, sub_dir

FORMAT = 1  # bump when the written layout changes: old cache entries are then never read
CONFIG, WEIGHTS = "adapter_config.json", "adapter_model.safetensors"

# model_type -> (gguf architecture name, q/k rows permuted by llama.cpp's converter); others
# may need transforms of their own in convert_hf_to_gguf.py, so they are refused, not guessed.
ARCHITECTURES = {"qwen2": ("qwen2", False), "qwen3": ("qwen3", False), "llama": ("llama", True)}

# adapter_config.json settings that change (or may change) what the adapter computes beyond
# W + alpha/r * B@A: refused rather than guessed
UNSUPPORTED = {
    "use_dora": "DoRA", "use_rslora": "rsLoRA (scale alpha/sqrt(r))", "use_qalora": "QA-LoRA",
    "lora_bias": "a bias on lora_B", "fan_in_fan_out": "fan_in_fan_out (Conv1D) weights",
    "modules_to_save": "modules_to_save (fully trained modules)",
    "trainable_token_indices": "trainable token embeddings",
    "target_parameters": "target_parameters (LoRA on raw parameters)",
    "layer_replication": "layer_replication", "alora_invocation_tokens": "activated LoRA",
    "use_bdlora": "BD-LoRA", "arrow_config": "Arrow routing", "kasa_config": "KaSA",
    "monteclora_config": "MonteCLoRA", "velora_config": "VeLoRA",
}


class AdapterNotConvertible(LMConfigError):
    """A peft adapter that llama.cpp's GGUF LoRA format cannot express (or that is broken)."""


def check(adapter: str | Path, base: str | Path) -> list[tuple[str, str, str]]:
    """Refuse (`AdapterNotConvertible`, naming why) an adapter for the model folder `base` that
    cannot be converted; else its (peft A name, peft B name, GGUF weight name) triples. Reads
    the configs and the safetensors header only."""
    adapter, base = Path(adapter).expanduser(), Path(base).expanduser()
    lora = _config(adapter / CONFIG)
    model = _config(base / "config.json")
    if lora.get("peft_type", "LORA") != "LORA":
        _refuse(adapter, f"it is a {lora['peft_type']} adapter, not LoRA")
    for key, what in UNSUPPORTED.items():
        if lora.get(key):
            _refuse(adapter, f"it uses {what}")
    if lora.get("bias", "none") != "none":
        _refuse(adapter, f"it trains biases (bias={lora['bias']!r})")
    alpha = _alpha(adapter, lora)
    if any(value != alpha for value in (lora.get("alpha_pattern") or {}).values()):
        _refuse(adapter, "its alpha_pattern gives modules their own alpha; llama.cpp has one")
    arch, _ = _architecture(adapter, model)
    if not (adapter / WEIGHTS).is_file():
        _refuse(adapter, f"it has no {WEIGHTS}")
    from safetensors import safe_open

    try:
        with safe_open(adapter / WEIGHTS, framework="numpy") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - a damaged file is one more reason to refuse
        _refuse(adapter, f"{WEIGHTS} cannot be read ({e})")
    return _pairs(adapter, shapes, arch, model)


def convert(adapter: str | Path, base: str | Path, cache: Path | None = None) -> Path:
    """The GGUF LoRA of `adapter` for the model folder `base`: from the cache, else converted
    now (well under a second for a rank-16 adapter) and cached. `cache` defaults to the data
    folder's `lora-gguf/`. Raises `AdapterNotConvertible`."""
    adapter, base = Path(adapter).expanduser(), Path(base).expanduser()
    pairs = check(adapter, base)
    folder = Path(cache) if cache is not None else sub_dir("lora-gguf")
    target = folder / f"{cache_key(adapter, base)}.gguf"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=target.stem + ".", suffix=".partial")
    os.close(fd)
    try:
        _write(Path(tmp), adapter, base, pairs)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)  # atomic: a killed conversion leaves only a .partial file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def cache_key(adapter: Path, base: Path) -> str:
    """By content: a retrained adapter, or the same one on another base, is a new file."""
    return content_key(f"lora-gguf v{FORMAT}", (adapter / CONFIG, adapter / WEIGHTS,
                                                base / "config.json"))


def _write(path: Path, adapter: Path, base: Path, pairs: list[tuple[str, str, str]]) -> None:
    import gguf
    from safetensors.torch import load_file

    lora, model = _config(adapter / CONFIG), _config(base / "config.json")
    arch, permuted = _architecture(adapter, model)
    tensors = load_file(adapter / WEIGHTS)  # torch: numpy cannot read bf16
    writer = gguf.GGUFWriter(path, arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, _alpha(adapter, lora))
    for a_name, b_name, name in pairs:
        a = tensors[a_name].float().numpy()
        b = tensors[b_name].float().numpy()
        if permuted and name.endswith(("attn_q.weight", "attn_k.weight")):
            heads = model["num_attention_heads"]
            if name.endswith("attn_k.weight"):
                heads = model.get("num_key_value_heads") or heads
            b = _permute_rows(b, heads)
        writer.add_tensor(name + ".lora_a", a)
        writer.add_tensor(name + ".lora_b", b)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def _permute_rows(b: Any, heads: int) -> Any:
    """llama.cpp's `LlamaModel.permute` on the output rows: each head's two rotary halves
    interleaved."""
    rows = b.shape[0]
    return b.reshape(heads, 2, rows // heads // 2, b.shape[1]).swapaxes(1, 2).reshape(b.shape)


def _pairs(adapter: Path, shapes: dict[str, tuple[int, ...]], arch: str,
           model: dict[str, Any]) -> list[tuple[str, str, str]]:
    import gguf

    gguf_arch = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch)
    names = gguf.get_tensor_name_map(gguf_arch, int(model.get("num_hidden_layers") or 0))
    modules: dict[str, dict[str, str]] = {}
    for key in shapes:
        for part in ("A", "B"):
            suffix = f".lora_{part}.weight"
            if key.endswith(suffix):
                module = key[:-len(suffix)].removeprefix("base_model.model.")
                modules.setdefault(module, {})[part] = key
                break
        else:
            _refuse(adapter, f"tensor {key} is not a LoRA A or B matrix (embedding LoRA or a "
                             "saved module?)")
    if not modules:
        _refuse(adapter, f"{WEIGHTS} holds no LoRA matrices")
    pairs = []
    for module, found in sorted(modules.items()):
        if set(found) != {"A", "B"}:
            _refuse(adapter, f"{module} lacks its lora_{'B' if 'A' in found else 'A'}")
        a, b = shapes[found["A"]], shapes[found["B"]]
        if len(a) != 2 or len(b) != 2 or a[0] != b[1]:
            _refuse(adapter, f"{module}: lora_A {a} and lora_B {b} are not a rank-r pair")
        name = names.get_name(module)
        tied = model.get("tie_word_embeddings", True) and name == "output"
        if name is None or name == "token_embd" or tied:
            _refuse(adapter, f"{module} has no weight of its own in a {arch} GGUF")
        pairs.append((found["A"], found["B"], name + ".weight"))
    return pairs


def _architecture(adapter: Path, model: dict[str, Any]) -> tuple[str, bool]:
    kind = model.get("model_type")
    if kind not in ARCHITECTURES:
        import gguf

        known = "gguf names it, but its llama.cpp tensor layout is not checked here" if (
            kind in gguf.MODEL_ARCH_NAMES.values()) else "gguf has no architecture for it"
        _refuse(adapter, f"the base model's model_type is {kind!r}: {known} (converted: "
                         f"{', '.join(ARCHITECTURES)})")
    return ARCHITECTURES[kind]


def _alpha(adapter: Path, lora: dict[str, Any]) -> float:
    alpha = lora.get("lora_alpha")
    # llama.cpp reads alpha 0 as "no scaling", where peft would scale by 0
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
        _refuse(adapter, f"lora_alpha must be a positive number, not {alpha!r}")
    return float(alpha)


def _config(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise AdapterNotConvertible(f"cannot read {path}: {e}") from e
    if not isinstance(found, dict):
        raise AdapterNotConvertible(f"{path} is not a JSON object")
    return found


def _refuse(adapter: Path, why: str) -> NoReturn:
    raise AdapterNotConvertible(f"adapter {adapter} cannot run on llama.cpp: {why}")
