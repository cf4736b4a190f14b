"""peft LoRA adapters converted to llama.cpp's GGUF LoRA format and applied by the llama.cpp
runtime.

Unit tests use tiny synthetic peft folders (random tensors, a small base config.json); the
slow ones use the real default model and fail unless the adapter is really applied.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import dspy
import numpy as np
import pytest
from safetensors.numpy import save_file

import agents.lm.lora_gguf as lora_gguf
from agents.lm import (
    DEFAULT_MODEL,
    LlamaCppEngine,
    LMConfig,
    TransformersEngine,
    choose_runtime,
    local_engine,
    make_lm,
)
from agents.lm.llamacpp import installed as llama_installed
from agents.lm.lora_gguf import AdapterNotConvertible, convert
from tools.paths import data_dir

PREFIX = "base_model.model.model.layers"
QWEN = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "hidden_size": 8,
        "tie_word_embeddings": True}
LLAMA = {**QWEN, "model_type": "llama", "architectures": ["LlamaForCausalLM"]}
OUT = {"q_proj": 8, "k_proj": 4, "v_proj": 4, "o_proj": 8}  # rows: 2 heads of 4, 1 kv head


def make_base(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def make_adapter(folder: Path, rank: int = 2, seed: int = 0, tensors: dict | None = None,
                 **config: object) -> Path:
    """A peft LoRA folder on q/k/v/o of both layers of the 8-wide base above."""
    rng = np.random.default_rng(seed)
    if tensors is None:
        tensors = {}
        for layer in range(2):
            for module, rows in OUT.items():
                name = f"{PREFIX}.{layer}.self_attn.{module}"
                tensors[f"{name}.lora_A.weight"] = rng.standard_normal((rank, 8), np.float32)
                tensors[f"{name}.lora_B.weight"] = rng.standard_normal((rows, rank), np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    settings = {"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, "bias": "none",
                "target_modules": list(OUT), "use_dora": False, "use_rslora": False,
                "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {}, **config}
    (folder / "adapter_config.json").write_text(json.dumps(settings))
    return folder


def read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    import gguf

    reader = gguf.GGUFReader(path)
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    return fields, {t.name: np.array(t.data) for t in reader.tensors}


# -- The format ----------------------------------------------------------------------------


def test_tensors_keep_peft_orientation_under_gguf_names(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path / "lora")
    path = convert(adapter, make_base(tmp_path / "base", QWEN), cache=tmp_path / "cache")
    fields, tensors = read(path)
    assert fields == {"general.architecture": "qwen2", "general.type": "adapter",
                      "adapter.type": "lora", "adapter.lora.alpha": 4.0}
    names = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output"}
    assert set(tensors) == {f"blk.{i}.{names[m]}.weight.lora_{ab}" for i in range(2)
                            for m in OUT for ab in "ab"}
    from safetensors.numpy import load_file

    peft = load_file(str(adapter / "adapter_model.safetensors"))
    for layer in range(2):
        for module, name in names.items():
            found = f"blk.{layer}.{name}.weight"
            a = peft[f"{PREFIX}.{layer}.self_attn.{module}.lora_A.weight"]
            b = peft[f"{PREFIX}.{layer}.self_attn.{module}.lora_B.weight"]
            assert tensors[found + ".lora_a"].dtype == np.float32
            assert np.array_equal(tensors[found + ".lora_a"], a)  # rank x in, as peft's
            assert np.array_equal(tensors[found + ".lora_b"], b)  # out x rank, as peft's


def test_an_adapter_on_some_layers_only_converts_those(tmp_path: Path) -> None:
    full = make_adapter(tmp_path / "full")
    from safetensors.numpy import load_file

    last = {k: v for k, v in load_file(str(full / "adapter_model.safetensors")).items()
            if f"{PREFIX}.1." in k}
    adapter = make_adapter(tmp_path / "last", tensors=last, layers_to_transform=[1])
    path = convert(adapter, make_base(tmp_path / "base", QWEN), cache=tmp_path / "cache")
    _, tensors = read(path)
    assert tensors and all(name.startswith("blk.1.") for name in tensors)


def test_llama_q_and_k_rows_follow_llama_cpp_rotary_permutation(tmp_path: Path) -> None:
    tensors = {}
    for module, rows in OUT.items():
        name = f"{PREFIX}.0.self_attn.{module}"
        tensors[f"{name}.lora_A.weight"] = np.ones((1, 8), np.float32)
        tensors[f"{name}.lora_B.weight"] = np.arange(rows, dtype=np.float32)[:, None]
    adapter = make_adapter(tmp_path / "lora", rank=1, tensors=tensors)
    path = convert(adapter, make_base(tmp_path / "base", LLAMA), cache=tmp_path / "cache")
    fields, found = read(path)
    assert fields["general.architecture"] == "llama"
    column = {m: found[f"blk.0.attn_{m}.weight.lora_b"][:, 0].tolist() for m in "qkv"}
    assert column["q"] == [0, 2, 1, 3, 4, 6, 5, 7]  # per head of 4: the halves interleaved
    assert column["k"] == [0, 2, 1, 3]  # one kv head
    assert column["v"] == [0, 1, 2, 3]  # not rotated: untouched


def test_bf16_weights_and_a_rank_pattern_convert(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file as save_torch

    adapter = make_adapter(tmp_path / "lora", rank_pattern={"q_proj": 1})
    tensors = {f"{PREFIX}.0.self_attn.q_proj.lora_A.weight": torch.ones(1, 8, dtype=torch.bfloat16),
               f"{PREFIX}.0.self_attn.q_proj.lora_B.weight": torch.ones(8, 1, dtype=torch.bfloat16)}
    save_torch(tensors, adapter / "adapter_model.safetensors")
    _, found = read(convert(adapter, make_base(tmp_path / "base", QWEN), cache=tmp_path / "c"))
    # llama.cpp scales each pair by alpha / its own rank, as peft does with a rank_pattern
    assert found["blk.0.attn_q.weight.lora_a"].shape == (1, 8)
    assert found["blk.0.attn_q.weight.lora_b"].dtype == np.float32


# -- What the format cannot carry ----------------------------------------------------------


@pytest.mark.parametrize(("config", "why"), [
    ({"use_dora": True}, "DoRA"),
    ({"use_rslora": True}, "rsLoRA"),
    ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
    ({"alpha_pattern": {"q_proj": 64}}, "alpha_pattern"),
    ({"lora_alpha": 0}, "lora_alpha must be a positive number"),
    ({"peft_type": "IA3"}, "IA3 adapter, not LoRA"),
    ({"bias": "lora_only"}, "trains biases"),
    ({"fan_in_fan_out": True}, "fan_in_fan_out"),
    ({"alora_invocation_tokens": [1, 2]}, "activated LoRA"),
])
def test_settings_the_format_cannot_carry_are_refused(tmp_path: Path, config: dict,
                                                      why: str) -> None:
    adapter = make_adapter(tmp_path / "lora", **config)
    with pytest.raises(AdapterNotConvertible, match=why) as caught:
        convert(adapter, make_base(tmp_path / "base", QWEN), cache=tmp_path / "cache")
    assert str(adapter) in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("name", "shape", "why"), [
    ("model.embed_tokens.lora_embedding_A", (2, 10), "not a LoRA A or B matrix"),
    ("model.layers.0.self_attn.q_proj.base_layer.weight", (8, 8), "not a LoRA A or B"),
    ("model.layers.0.self_attn.rotary_emb.lora_A.weight", (2, 8), "no weight of its own"),
    ("lm_head.lora_A.weight", (2, 8), "lm_head has no weight of its own"),  # tied
])
def test_tensors_without_a_gguf_weight_are_refused(tmp_path: Path, name: str, shape: tuple,
                                                   why: str) -> None:
    tensors = {f"base_model.model.{name}": np.zeros(shape, np.float32)}
    if name.endswith("lora_A.weight"):
        tensors[f"base_model.model.{name[:-len('A.weight')]}B.weight"] = np.zeros((8, 2),
                                                                                np.float32)
    adapter = make_adapter(tmp_path / "lora", tensors=tensors)
    with pytest.raises(AdapterNotConvertible, match=why):
        convert(adapter, make_base(tmp_path / "base", QWEN), cache=tmp_path / "cache")


def test_a_half_pair_or_no_weights_file_is_refused(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", QWEN)
    lone = {f"{PREFIX}.0.self_attn.q_proj.lora_A.weight": np.zeros((2, 8), np.float32)}
    with pytest.raises(AdapterNotConvertible, match="q_proj lacks its lora_B"):
        convert(make_adapter(tmp_path / "lone", tensors=lone), base, cache=tmp_path / "c")
    adapter = make_adapter(tmp_path / "lora")
    (adapter / "adapter_model.safetensors").rename(adapter / "adapter_model.bin")
    with pytest.raises(AdapterNotConvertible, match="no adapter_model.safetensors"):
        convert(adapter, base, cache=tmp_path / "c")


@pytest.mark.parametrize(("model_type", "why"), [
    ("gemma3", "gguf names it, but its llama.cpp tensor layout is not checked"),
    ("no-such-model", "gguf has no architecture for it"),
])
def test_architectures_without_a_known_layout_are_refused(tmp_path: Path, model_type: str,
                                                          why: str) -> None:
    base = make_base(tmp_path / "base", {**QWEN, "model_type": model_type})
    with pytest.raises(AdapterNotConvertible, match=why):
        convert(make_adapter(tmp_path / "lora"), base, cache=tmp_path / "cache")


# -- The cache -----------------------------------------------------------------------------


def test_the_cache_is_in_the_data_folder_and_keyed_by_content(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter, base = make_adapter(tmp_path / "lora"), make_base(tmp_path / "base", QWEN)
    before = sorted(p.name for p in adapter.iterdir())
    first = convert(adapter, base)
    assert first.parent == data_dir() / "lora-gguf"
    assert sorted(p.name for p in adapter.iterdir()) == before  # nothing written beside it

    def no_writes(*args: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(lora_gguf, "_write", no_writes)
    assert convert(adapter, base) == first  # reused
    monkeypatch.undo()
    make_adapter(adapter, seed=1)  # retrained: same names, new weights
    assert convert(adapter, base) != first
    (base / "config.json").write_text(json.dumps(LLAMA))  # the same adapter on another base
    assert len({first, convert(adapter, base), convert(make_adapter(adapter), base)}) == 3


def test_a_conversion_killed_mid_write_leaves_nothing_at_the_cached_path(tmp_path: Path) -> None:
    adapter, base = make_adapter(tmp_path / "lora"), make_base(tmp_path / "base", QWEN)
    cache = tmp_path / "cache"
    target = cache / f"{lora_gguf.cache_key(adapter, base)}.gguf"
    killed = subprocess.run([sys.executable, "-c", f"""
import os, signal, gguf
from agents.lm.lora_gguf import convert

def die(self, *args, **kwargs):  # the header is out; the process dies before the tensors
    self.fout[0].flush()
    os.kill(os.getpid(), signal.SIGKILL)

gguf.GGUFWriter.write_tensors_to_file = die
convert({str(adapter)!r}, {str(base)!r}, cache=__import__("pathlib").Path({str(cache)!r}))
"""], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    [partial] = cache.iterdir()
    assert partial.name.endswith(".partial") and partial.stat().st_size > 0  # it was mid-write
    assert not target.exists()
    assert convert(adapter, base, cache=cache) == target  # the next run converts it whole
    assert read(target)[0]["adapter.type"] == "lora"


def test_a_failed_conversion_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gguf

    def full_disk(self: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full_disk)
    with pytest.raises(OSError, match="No space left"):
        convert(make_adapter(tmp_path / "lora"), make_base(tmp_path / "base", QWEN),
                cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


# -- Choosing the runtime ------------------------------------------------------------------


def test_auto_takes_llama_cpp_for_an_adapter_that_converts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.lm.llamacpp as llamacpp

    monkeypatch.setattr(llamacpp, "installed", lambda: True)
    monkeypatch.setattr(llamacpp, "amx_build", lambda: False)
    model = make_base(tmp_path / "m", QWEN)
    (model / "model.gguf").write_bytes(b"GGUF")
    good = str(make_adapter(tmp_path / "sql-v1"))
    dora = str(make_adapter(tmp_path / "dora", use_dora=True))
    assert choose_runtime(LMConfig(model=str(model), adapter=good)) == "llama.cpp"
    assert choose_runtime(LMConfig(model=str(model), adapter=dora)) == "transformers"
    with pytest.raises(AdapterNotConvertible, match="runtime llama.cpp: adapter .*dora.*DoRA"):
        choose_runtime(LMConfig(model=str(model), adapter=dora, runtime="llama.cpp"))
    lm = make_lm(LMConfig(model=str(model), adapter=good))
    assert isinstance(local_engine(lm), LlamaCppEngine)
    assert lm.model.startswith("local/m+sql-v1@gguf-")  # DSPy's cache key names the adapter
    assert lm.model != make_lm(LMConfig(model=str(model))).model


# -- The real model ------------------------------------------------------------------------

WORD = "Quokkazest"  # what the trained adapter answers; no model says it unprompted
QUESTION = "Name one colour."


@pytest.fixture(scope="module")
def llama_model(default_model: Path) -> Path:
    if not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    return default_model


@pytest.fixture(scope="module")
def word_adapter(llama_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA trained (12 steps, ~10 s) to answer QUESTION with WORD."""
    from finetune.data import Example
    from finetune.train import TrainConfig, train

    messages = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": WORD}]
    out = tmp_path_factory.mktemp("adapters") / "word"
    train([Example(messages, "task:word", QUESTION)] * 12, out,
          TrainConfig(base=DEFAULT_MODEL, lr=2e-3, epochs=1, batch_size=1, dev_fraction=0.0,
                      dropout=0.0), progress=False)
    return out


def answer(lm: dspy.LM) -> tuple[str, int]:
    engine = local_engine(lm)
    before = engine.generation_stats()
    [text] = lm(QUESTION)
    return text, engine.generation_stats().since(before).cached_prompt_tokens


@pytest.mark.slow
def test_llama_cpp_applies_a_trained_adapter_as_peft_does(word_adapter: Path) -> None:
    settings = dict(model=DEFAULT_MODEL, cache=False, max_tokens=8, num_threads=1)
    base = make_lm(LMConfig(**settings))
    tuned = make_lm(LMConfig(**settings, adapter=str(word_adapter)))
    reference = make_lm(LMConfig(**settings, adapter=str(word_adapter), runtime="transformers"))
    assert isinstance(local_engine(tuned), LlamaCppEngine)  # auto: the adapter converts
    assert isinstance(local_engine(reference), TransformersEngine)
    said, _ = answer(base)
    assert WORD not in said
    said, reused = answer(tuned)
    assert WORD in said
    assert reused == 0  # the base engine's saved state of this prompt is not its to reuse
    assert WORD in answer(reference)[0]
    assert WORD not in answer(base)[0]  # and the base engine is untouched
    for lm in (base, tuned, reference):
        local_engine(lm).close()


@pytest.mark.slow
def test_llama_cpp_scales_the_adapter_by_alpha_over_rank(
        llama_model: Path, tmp_path: Path) -> None:
    """Random LoRA (rank 8, alpha 32: scale 4): the last logits move by the same vector under
    llama.cpp as under peft, up to the 4-bit weights' noise (measured: norm ratio 1.04,
    correlation 0.995; a scale of alpha alone or 1 would be 8x or 4x off)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(llama_model)
    ids = tokenizer("def fibonacci(n):\n    ", add_special_tokens=False)["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(llama_model, dtype=torch.float32)
    with warnings.catch_warnings():  # peft 0.21 reads a property transformers 5 deprecated
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated",
                                FutureWarning)
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=32, target_modules=list(OUT)))
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:  # zero at init
                weight.normal_(0.0, 0.02)
        tuned = model(torch.tensor([ids])).logits[0, -1].numpy()
        with model.disable_adapter():
            plain = model(torch.tensor([ids])).logits[0, -1].numpy()
    model.save_pretrained(tmp_path / "random")
    del model

    def last_logits(adapter: str | None) -> np.ndarray:
        engine = local_engine(make_lm(LMConfig(adapter=adapter, num_threads=1))).load()
        llama = engine._model
        llama.reset()
        llama.eval(ids)
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()
        assert isinstance(engine, LlamaCppEngine) and logits.shape == plain.shape
        engine.close()
        return logits

    expected = tuned - plain
    moved = last_logits(str(tmp_path / "random")) - last_logits(None)
    assert 0.8 < np.linalg.norm(moved) / np.linalg.norm(expected) < 1.25
    assert np.corrcoef(moved, expected)[0, 1] > 0.95

