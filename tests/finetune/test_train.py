"""A LoRA test proves what it claims: base weights unchanged, adapter weights moved, and the
reloaded adapter changes what the model generates."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pytest

from finetune.data import Example
from finetune.train import CARD, Plan, TrainConfig, TrainError, encode, parent_mismatch, train
from tests.finetune.disk import fill_disk_on_save

SMALL = "smollm2-135m"  # LoRA tests train the small model: fast, and enough to prove a point
REPLY = "```python\nairlines.filter(_.carrier == 'AA')\n```"


def examples() -> list[Example]:
    return [Example([{"role": "system", "content": "Write Ibis."},
                     {"role": "user", "content": f"Question {i}: American Airlines?"},
                     {"role": "assistant", "content": REPLY}], f"task:t{i}", f"q{i}")
            for i in range(4)]


@pytest.fixture(scope="module")
def trained(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapters") / "tiny"
    config = TrainConfig(base=SMALL, rank=8, alpha=16, epochs=12, batch_size=4, lr=1e-2,
                         dev_fraction=0.0, patience=10)
    train(examples(), out, config, progress=False)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_loss_is_on_the_reply_only(small_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(small_model)
    enc = encode(tokenizer, examples()[0])
    reply = tokenizer.decode([t for t, label in zip(enc.input_ids, enc.labels, strict=True)
                              if label != -100])
    assert reply.startswith(REPLY) and reply.strip().endswith("<|im_end|>")


def test_adapter_and_card_are_written(trained: Path) -> None:
    card = json.loads((trained / CARD).read_text())
    assert card["base_model"] == SMALL and card["data"]["size"] == 4
    assert card["training"]["steps"] == 12 and card["hyperparameters"]["rank"] == 8
    assert card["lineage"] == {"parent": None, "weights": "fresh", "note": None}
    assert (trained / "adapter_config.json").is_file()


def test_base_unchanged_and_adapter_moved(small_model: Path, trained: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    weights = small_model / "model.safetensors"
    before = _sha(weights)
    base = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32)
    original = {k: v.clone() for k, v in base.state_dict().items()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated",
                                FutureWarning)
        tuned = PeftModel.from_pretrained(base, trained)
    lora_b = [v for k, v in tuned.state_dict().items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero
    for name, value in tuned.get_base_model().state_dict().items():
        key = name.replace(".base_layer", "")
        if "lora_" not in name and key in original:
            assert torch.equal(value, original[key]), name
    assert _sha(weights) == before


def test_reloaded_adapter_changes_generation(small_model: Path, trained: Path) -> None:
    from dspy.lm15 import Config, Message, Request

    from agents.lm import LMConfig, make_lm

    def answer(adapter: str | None) -> str:
        lm = make_lm(LMConfig(model=SMALL, adapter=adapter, cache=False, max_tokens=24))
        request = Request(model=lm.model, system="Write Ibis.",
                          messages=(Message.user("Question 1: American Airlines?"),),
                          config=Config(max_tokens=24))
        return lm(request).text

    base, tuned = answer(None), answer(str(trained))
    assert base != tuned
    assert "airlines.filter" in tuned


def _lora(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


# lr 0 keeps the starting weights, so the saved adapter shows where training started; training
# at all shows they were loaded trainable (an optimizer over no parameters raises).
STILL = {"base": SMALL, "epochs": 1, "batch_size": 4, "lr": 0.0, "dev_fraction": 0.0}


def test_training_goes_on_from_a_parent_that_fits(trained: Path, tmp_path: Path) -> None:
    import torch

    card = train(examples(), tmp_path / "child", TrainConfig(rank=8, alpha=16, **STILL),
                 progress=False, parent=trained)
    assert card["lineage"] == {"parent": str(trained), "weights": "parent", "note": None}
    parent, child = _lora(trained), _lora(tmp_path / "child")
    assert parent.keys() == child.keys()
    assert all(torch.equal(parent[k], child[k]) for k in parent)
    assert any(v.abs().sum() > 0 for k, v in child.items() if "lora_B" in k)


def test_a_parent_that_does_not_fit_is_a_fresh_start_the_card_names(trained: Path,
                                                                     tmp_path: Path) -> None:
    card = train(examples(), tmp_path / "child", TrainConfig(rank=4, alpha=16, **STILL),
                 progress=False, parent=trained)
    lineage = card["lineage"]
    assert lineage["parent"] == str(trained) and lineage["weights"] == "fresh"
    assert "r=8, not 4" in lineage["note"]
    lora_b = [v for k, v in _lora(tmp_path / "child").items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() == 0 for v in lora_b)  # peft's fresh start: zeros


def test_parent_mismatch_names_what_differs(trained: Path, tmp_path: Path) -> None:
    fits = TrainConfig(base=SMALL, rank=8, alpha=16)
    assert parent_mismatch(trained, fits) is None
    assert parent_mismatch(trained, TrainConfig(base=SMALL, rank=8, alpha=16,
                                                target_modules=("q_proj",))) == (
        "its target_modules=['k_proj', 'o_proj', 'q_proj', 'v_proj'], not ['q_proj']")
    other = tmp_path / "other"
    other.mkdir()
    saved = json.loads((trained / "adapter_config.json").read_text())
    (other / "adapter_config.json").write_text(json.dumps(
        saved | {"base_model_name_or_path": "/models/another-model"}))
    assert "another base model" in parent_mismatch(other, fits)
    assert "cannot be read" in parent_mismatch(tmp_path / "missing", fits)


def test_top_layers_put_lora_on_the_last_layers_only(small_model: Path, tmp_path: Path) -> None:
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(small_model).num_hidden_layers
    config = TrainConfig(rank=8, alpha=16, top_layers=2, **{**STILL, "lr": 1e-2})
    card = train(examples(), tmp_path / "top", config, progress=False)
    trained = {int(k.split(".layers.")[1].split(".")[0]) for k in _lora(tmp_path / "top")}
    assert trained == {layers - 2, layers - 1}
    assert card["hyperparameters"]["top_layers"] == 2
    # a parent over other layers cannot be trained on: a fresh start, which the card names
    assert parent_mismatch(tmp_path / "top", config) is None
    assert "layers_to_transform" in parent_mismatch(
        tmp_path / "top", TrainConfig(base=SMALL, rank=8, alpha=16))


def test_a_negative_layer_count_is_refused() -> None:
    with pytest.raises(TrainError, match="top_layers=-1"):
        TrainConfig(top_layers=-1)


def test_no_examples_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no training examples"):
        train([], tmp_path / "x")


def test_a_full_disk_leaves_no_adapter_behind(small_model: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fill_disk_on_save(monkeypatch)
    out = tmp_path / "adapters" / "full"
    config = TrainConfig(base=SMALL, epochs=1, batch_size=4, dev_fraction=0.0)
    with pytest.raises(TrainError) as caught:
        train(examples(), out, config, progress=False)
    message = str(caught.value)
    assert "No space left on device" in message and str(out) in message and "\n" not in message
    assert list((tmp_path / "adapters").iterdir()) == []  # no adapter, no half-written staging


def test_the_schedule_decays_over_the_steps_a_budget_leaves() -> None:
    plan = Plan(100)
    assert plan.rate(0) == 0.0 and plan.rate(5) == 1.0 and plan.rate(100) == 0.0
    # 10 steps took 20 s: a 60 s budget fits 30 steps, and the 11th still fits
    assert plan.budget(10, 20.0, 60.0) is False and plan.total == 30
    assert plan.rate(30) == 0.0 and 0 < plan.rate(20) < 1
    assert plan.budget(29, 58.5, 60.0) is True  # the 30th would end after 60 s: no room
    short = Plan(4)
    assert short.budget(1, 0.1, 60.0) is False and short.total == 4  # never lengthened


def test_a_time_budget_stops_training_and_keeps_what_it_learnt(small_model: Path,
                                                               tmp_path: Path) -> None:
    config = TrainConfig(base=SMALL, epochs=1000, batch_size=4, dev_fraction=0.0,
                         patience=1000, max_seconds=2.0)
    card = train(examples(), tmp_path / "budget", config, progress=False)
    assert card["training"]["stopped"] == "time budget of 2 s"
    assert 1 <= card["training"]["steps"] < 1000 and card["training"]["planned_steps"] == 1000
    assert (tmp_path / "budget" / "adapter_model.safetensors").is_file()


def test_the_reply_only_loss_equals_the_models_own_on_each_example(small_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from finetune.train import _batch_loss, _collate

    tokenizer = AutoTokenizer.from_pretrained(small_model)
    model = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32).eval()
    items = [encode(tokenizer, Example([{"role": "user", "content": "Which carriers? " * k},
                                        {"role": "assistant", "content": REPLY * (4 - k)}],
                                       f"task:t{k}", "q")) for k in (1, 2, 3)]
    with torch.no_grad():
        # each example alone, unpadded, through the model's own loss, weighted by its tokens
        alone = [(model(input_ids=torch.tensor([e.input_ids]),
                        labels=torch.tensor([e.labels])).loss.item(),
                  sum(label != -100 for label in e.labels[1:])) for e in items]
        batched = _batch_loss(model, _collate(items, 0, torch), torch).item()
    expected = sum(loss * n for loss, n in alone) / sum(n for _, n in alone)
    assert batched == pytest.approx(expected, rel=1e-4)


def test_a_batch_taken_in_parts_gives_the_same_loss_and_gradients(
        small_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import finetune.train as training

    tokenizer = AutoTokenizer.from_pretrained(small_model)
    model = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32)
    items = [encode(tokenizer, Example([{"role": "user", "content": "Which carriers? " * k},
                                        {"role": "assistant", "content": REPLY * (4 - k)}],
                                       f"task:t{k}", "q")) for k in (1, 2, 3)]
    watched = model.model.layers[0].self_attn.q_proj.weight

    def step(micro_tokens: int) -> tuple[float, torch.Tensor]:
        monkeypatch.setattr(training, "MICRO_TOKENS", micro_tokens)
        model.zero_grad()
        loss, _ = training._accumulate(model, items, 0, torch)
        return loss, watched.grad.clone()

    whole_loss, whole_grad = step(10**6)
    assert len(training._parts(items)) == 1
    parts_loss, parts_grad = step(1)  # one example a forward
    assert len(training._parts(items)) == 3
    assert parts_loss == pytest.approx(whole_loss, rel=1e-5)
    assert torch.allclose(parts_grad, whole_grad, rtol=1e-3, atol=1e-6)
