"""One whole learning turn, small, on the real small model and a real sample database:
bootstrap, fine-tune, score old vs new on held-out tasks, register only on a win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.registry import registered
from finetune.learn import LearnConfig, learn
from finetune.train import CARD, TrainConfig

pytestmark = pytest.mark.slow


def test_a_small_turn_trains_scores_and_registers_only_a_winner(small_model: Path) -> None:
    config = LearnConfig(n=24, heldout=0.25, max_examples=12, eval_max_tokens=24,
                         train=TrainConfig(base="smollm2-135m", epochs=1, batch_size=4, lr=1e-3))
    before = registered("poker_player")
    report = learn("poker_player", config, progress=False)

    assert report["n_bootstrapped"] == 24 and report["heldout_n"] == 6
    assert report["examples"] == 12 and report["training"]["steps"] >= 2
    card = json.loads((Path(report["adapter"]) / CARD).read_text())
    assert card["eval"]["heldout_n"] == 6 and card["eval"]["previous"] == "base"
    assert 0 <= report["adapter_heldout_ex"] <= 1 and 0 <= report["previous_heldout_ex"] <= 1
    assert card["data"]["size"] == 12
    wins = report["adapter_heldout_ex"] > report["previous_heldout_ex"]
    assert report["registered"] == wins
    now = registered("poker_player")
    expected = Path(report["adapter"]) if wins else before
    assert (now and now.resolve()) == (expected and expected.resolve())
