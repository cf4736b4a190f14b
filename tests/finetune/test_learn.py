"""Whole learning turns, small, on the real small model and a real sample database:
bootstrap, fine-tune, score old vs new on held-out tasks, register only on a win; a second
turn goes on from the registered adapter with the traces recorded since."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import finetune.learn
from agents.registry import registered
from agents.traces import Step, Trace, TraceStore
from finetune.data import data_hash, trace_examples
from finetune.learn import LearnConfig, learn
from finetune.prefer import PreferConfig
from finetune.train import CARD, TrainConfig
from finetune.turn import TurnError, turns_dir
from tools.records import ToolResult

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


def confirmed_trace(question: str) -> Trace:
    return Trace(question=question, db="poker_player", schema_hash="h", model="m",
                 config_hash="c", final_code="poker_player.count()", verified=True,
                 steps=[Step("draft", messages=[{"role": "user", "content": question}])])


def test_a_second_turn_goes_on_from_the_first_with_the_traces_since(
        small_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A data folder of its own (no other test's registry or traces), with the small model.
    monkeypatch.setenv("DEVSTARL_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "smollm2-135m").symlink_to(small_model)
    # Held-out scoring is the other test's subject: here each newer adapter wins, so each turn
    # registers and the second has a parent.
    ranks: dict[str, int] = {}
    monkeypatch.setattr(finetune.learn, "heldout_ex", lambda tasks, adapter, config, **_: 0.0
                        if adapter is None else ranks.setdefault(str(adapter), len(ranks) + 1))
    config = LearnConfig(n=12, heldout=0.25, max_examples=4,  # one training step a turn
                         train=TrainConfig(base="smollm2-135m", epochs=1, batch_size=4, lr=1e-3))
    store = TraceStore()
    early = replace(confirmed_trace("How many poker players are there, asked early?"),
                    correct=True)
    store.append(early)

    first = learn("poker_player", config, progress=False)
    late, unconfirmed, marked_bad = (confirmed_trace(f"How many poker players, asked {when}?")
                                     for when in ("late", "unconfirmed", "badly"))
    for trace in (late, unconfirmed, marked_bad):
        store.append(trace)
    store.add_feedback(late.trace_id, "up")
    store.add_feedback(marked_bad.trace_id, "down")
    second = learn("poker_player", config, progress=False)

    one, two = (json.loads((Path(r["adapter"]) / CARD).read_text()) for r in (first, second))
    assert one["lineage"]["parent"] is None and one["lineage"]["weights"] == "fresh"
    assert one["lineage"]["traces_since"] is None
    assert one["lineage"]["data"]["traces"] == {
        "size": 1, "hash": data_hash(trace_examples([early]))}
    assert Path(two["lineage"]["parent"]).resolve() == Path(first["adapter"]).resolve()
    assert two["lineage"]["weights"] == "parent" and two["lineage"]["note"] is None
    assert two["lineage"]["parent_data_hash"] == one["data"]["hash"]
    assert two["lineage"]["parent_scores"] == one["eval"]
    assert two["lineage"]["traces_since"] == one["lineage"]["traces_until"]
    # the late trace the person accepted, and not the early one, the unconfirmed or the bad one
    assert two["lineage"]["data"]["traces"] == {
        "size": 1, "hash": data_hash(trace_examples([late], {late.trace_id: "up"}))}
    assert two["lineage"]["data"]["bootstrapped"]["size"] == 3  # the traces first, then tasks
    assert two["lineage"]["scores"] == {"heldout_ex": 2, "previous_heldout_ex": 1}
    assert registered("poker_player").resolve() == Path(second["adapter"]).resolve()


def failed_then_fixed(question: str) -> Trace:
    """A confirmed run whose draft did not compile: one preference pair."""
    broken = ToolResult(ok=False, kind="compile_error", error="SyntaxError").to_dict()
    return Trace(question=question, db="poker_player", schema_hash="h", model="m",
                 config_hash="c", final_code="poker_player.count()", verified=True,
                 correct=True,
                 steps=[Step("draft", outputs={"code": "poker_player.count(("},
                             messages=[{"role": "user", "content": question}]),
                        Step("compile", inputs={"code": "poker_player.count(("},
                             tool_result=broken)])


def preference_turn(small_model: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
                    traces: int, dpo_ex: float) -> dict:
    """One turn with preference tuning on a data folder of its own holding `traces` runs that
    each give one pair; held-out EX is 0 for the base, 0.5 for SFT and `dpo_ex` for DPO."""
    monkeypatch.setenv("DEVSTARL_HOME", str(home))
    (home / "models").mkdir(parents=True)
    (home / "models" / "smollm2-135m").symlink_to(small_model)
    monkeypatch.setattr(finetune.learn, "heldout_ex", lambda tasks, adapter, config, **_: 0.0
                        if adapter is None else dpo_ex if Path(adapter).name.endswith("-dpo")
                        else 0.5)
    store = TraceStore()
    for i in range(traces):
        store.append(failed_then_fixed(f"How many poker players, case {i}?"))
    # Two examples (a short trace, one task): one small SFT step; SFT is not the subject here.
    config = LearnConfig(n=12, heldout=0.25, max_examples=2, preference=True,
                         train=TrainConfig(base="smollm2-135m", epochs=1, batch_size=4, lr=1e-3),
                         prefer=PreferConfig(drafts=0, batch_size=4))  # one DPO step
    return learn("poker_player", config, progress=False)


@pytest.mark.parametrize("dpo_ex", [0.75, 0.5], ids=["dpo-wins", "dpo-ties"])
def test_preference_keeps_the_dpo_adapter_only_when_it_wins(
        small_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        dpo_ex: float) -> None:
    report = preference_turn(small_model, tmp_path / "home", monkeypatch, 4, dpo_ex)
    wins = dpo_ex > 0.5  # strictly: a tie keeps SFT's adapter

    assert report["pairs"] == 4 and report["pair_sources"] == {"traces": 4, "drafts": 0}
    assert report["sft_heldout_ex"] == 0.5 and report["preference_heldout_ex"] == dpo_ex
    assert report["preference_kept"] is wins and report["preference_note"] is None
    sft, dpo = Path(report["sft_adapter"]), Path(report["preference_adapter"])
    assert dpo.parent == sft.parent and dpo != sft
    kept = dpo if wins else sft
    assert Path(report["adapter"]) == kept and report["adapter_heldout_ex"] == max(0.5, dpo_ex)
    assert report["registered"] and registered("poker_player").resolve() == kept.resolve()
    card = json.loads((dpo / CARD).read_text())
    assert card["eval"]["heldout_ex"] == dpo_ex and card["eval"]["sft_heldout_ex"] == 0.5
    assert card["preference"]["pairs"] == 4 and card["preference"]["steps"] == 1
    assert card["lineage"]["traces_until"] == report["lineage"]["traces_until"]
    assert json.loads((sft / CARD).read_text())["eval"]["heldout_ex"] == 0.5
    assert not [p for p in sft.parent.iterdir() if p.name.endswith(".training")]


def test_preference_with_too_few_pairs_skips_the_step_and_says_so(
        small_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = preference_turn(small_model, tmp_path / "home", monkeypatch, 1, 1.0)
    assert report["pairs"] == 1 and report["preference_heldout_ex"] is None
    assert report["preference_note"] == "no DPO step: 1 preference pair, fewer than 4"
    assert not report["preference_kept"] and report["preference_adapter"] is None
    assert report["adapter"] == report["sft_adapter"] and report["adapter_heldout_ex"] == 0.5
    assert [p.name for p in Path(report["adapter"]).parent.iterdir()] == [
        Path(report["adapter"]).name]  # no DPO adapter was made


def test_a_killed_turn_resumes_from_the_phase_it_was_in(
        small_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSTARL_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "smollm2-135m").symlink_to(small_model)
    scored: list[str] = []

    def killed_on_the_adapter(tasks, adapter, config, **_):
        if adapter is not None:
            raise KeyboardInterrupt  # a stop while the new adapter is scored
        scored.append("parent")
        return 0.0

    monkeypatch.setattr(finetune.learn, "heldout_ex", killed_on_the_adapter)
    config = LearnConfig(n=12, heldout=0.25, max_examples=4,
                         train=TrainConfig(base="smollm2-135m", epochs=1, batch_size=4, lr=1e-3))
    with pytest.raises(KeyboardInterrupt):
        learn("poker_player", config, progress=False)
    state = json.loads((turns_dir("poker_player") / "turn.json").read_text())
    assert list(state["phases"]) == ["bootstrap", "fine-tuning", "scoring the parent"]
    adapter = Path(state["adapter"])
    assert (adapter / CARD).is_file() and registered("poker_player") is None

    with pytest.raises(TurnError, match="other settings .*max_examples"):
        learn("poker_player", replace(config, max_examples=5), progress=False, resume=True)

    def never(*args, **kwargs):
        raise AssertionError("a finished phase ran again")

    monkeypatch.setattr(finetune.learn, "bootstrap_split", never)
    monkeypatch.setattr(finetune.learn, "train", never)
    monkeypatch.setattr(finetune.learn, "heldout_ex", lambda tasks, adapter, config, **_:
                        scored.append(str(adapter)) or 1.0)
    report = learn("poker_player", config, progress=False, resume=True)

    assert scored == ["parent", str(adapter)]  # the parent was scored once, before the stop
    assert report["resumed"] and Path(report["adapter"]) == adapter
    assert report["registered"] and registered("poker_player").resolve() == adapter.resolve()
    assert report["total_s"] >= sum(state["phases"][p]["seconds"] for p in state["phases"])
    assert report["phase_s"].keys() == {"bootstrap", "fine-tuning", "scoring the parent",
                                        "scoring the adapter"}
    assert not turns_dir("poker_player").exists()  # a finished turn leaves no checkpoint
    with pytest.raises(TurnError, match="no unfinished learning turn"):
        learn("poker_player", config, progress=False, resume=True)
