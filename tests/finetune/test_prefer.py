"""Preference pairs from tool feedback and the DPO step on them: each pair's prompt, chosen and
rejected come from the right steps; only confirmed traces and training tasks give pairs, never
a test-split question; DPO moves the SFT adapter's LoRA weights and writes its adapter whole or
not at all."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agents.lm import LMConfig
from agents.traces import Step, Trace
from finetune.data import SplitLeak
from finetune.prefer import (
    Pair,
    PreferConfig,
    draft_pairs,
    pairs_hash,
    prefer,
    sample_drafts,
    trace_pairs,
)
from finetune.train import CARD, TrainConfig, TrainError, train
from harness.tasks import Task, load_tasks
from tests.agents.fakes import scripted_server
from tests.finetune.disk import fill_disk_on_save
from tools.records import ToolResult

SMALL = "smollm2-135m"
TASKS = Path(__file__).resolve().parents[2] / "bench" / "tasks" / "nycflights13.jsonl"
FIXED = "poker_player.agg(n=_.count())"


def prompt(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Write Ibis."}, {"role": "user", "content": text}]


def fence(code: str) -> str:
    return f"```python\n{code}\n```"


def tool(name: str, code: str, kind: str = "ok") -> Step:
    result = ToolResult(ok=kind == "ok", kind=kind, error="" if kind == "ok" else "it broke")
    return Step(name, inputs={"code": code}, tool_result=result.to_dict())


def repaired(question: str = "How many poker players are there?", **fields: object) -> Trace:
    """A run whose draft did not compile, whose first revision failed on the sample and whose
    second revision worked: the final program."""
    steps = [
        Step("retrieve", inputs={"query": question}),
        Step("draft", outputs={"code": "poker_player.count(("}, messages=prompt("draft")),
        tool("compile", "poker_player.count((", "compile_error"),
        Step("reflect", outputs={"diagnosis": "a bracket"}, messages=prompt("reflect")),
        Step("revise", outputs={"fixed_code": "poker_player.nope.count()"},
             messages=prompt("revise 1")),
        tool("compile", "poker_player.nope.count()"),
        tool("execute_on_sample", "poker_player.nope.count()", "runtime_error"),
        Step("revise", outputs={"fixed_code": FIXED}, messages=prompt("revise 2")),
        tool("compile", FIXED), tool("execute_on_sample", FIXED), tool("execute_full", FIXED),
    ]
    return Trace(question=question, db="poker_player", schema_hash="h", model="m",
                 config_hash="c", steps=steps, final_code=FIXED,
                 **({"verified": True, "correct": True} | fields))


def test_failed_steps_are_rejected_against_the_final_program() -> None:
    trace = repaired()
    draft, revise = trace_pairs([trace])  # the second revision worked: no pair of its own
    assert draft == Pair(prompt("draft"), fence(FIXED), fence("poker_player.count(("),
                         f"trace:{trace.trace_id}", trace.question)
    assert revise.prompt == prompt("revise 1")
    assert (revise.chosen, revise.rejected) == (fence(FIXED), fence("poker_player.nope.count()"))


def test_a_draft_the_constrained_retry_fixed_is_rejected_against_it() -> None:
    """`constrain_retry`: the free draft failed, the grammar-held one worked and is final."""
    question = "How many poker players are there?"
    steps = [
        Step("draft", outputs={"code": "len(df)"}, messages=prompt("draft")),
        tool("compile", "len(df)", "compile_error"),
        Step("constrained_draft", outputs={"code": FIXED}, messages=prompt("draft")),
        tool("compile", FIXED), tool("execute_on_sample", FIXED), tool("execute_full", FIXED),
    ]
    trace = Trace(question=question, db="poker_player", schema_hash="h", model="m",
                  config_hash="c", steps=steps, final_code=FIXED, verified=True, correct=True)
    (pair,) = trace_pairs([trace])
    assert (pair.prompt, pair.chosen, pair.rejected) == (prompt("draft"), fence(FIXED),
                                                         fence("len(df)"))


@pytest.mark.parametrize(("fields", "rating"), [
    ({"correct": None}, None),  # verified, but nothing confirmed its result
    ({"correct": None}, "down"),
    ({"correct": False}, None),  # gold found it wrong
    ({"verified": False}, None),
])
def test_an_unconfirmed_trace_gives_no_pair(fields: dict, rating: str | None) -> None:
    trace = repaired(**fields)
    assert trace_pairs([trace], {trace.trace_id: rating} if rating else {}) == []


def test_a_trace_a_person_accepted_gives_pairs() -> None:
    trace = repaired(correct=None)
    assert len(trace_pairs([trace], {trace.trace_id: "up"})) == 2


def test_a_step_without_its_own_check_gives_no_pair() -> None:
    """One of several candidates sampled at once is checked after all of them were written:
    no check follows its step directly, so it has no verdict of its own."""
    trace = repaired()
    trace.steps[1:3] = [Step("draft", outputs={"code": "a()"}, messages=prompt("draft")),
                        Step("draft", outputs={"code": ["b()", "c()"]}, messages=prompt("draft")),
                        tool("compile", "a()", "compile_error")]
    assert [p.prompt for p in trace_pairs([trace])] == [prompt("revise 1")]


def test_a_test_split_question_never_becomes_a_pair() -> None:
    tasks = load_tasks(TASKS)
    test = next(t for t in tasks if t.split == "test")
    with pytest.raises(SplitLeak):
        trace_pairs([repaired(question=test.question.upper())])
    with pytest.raises(SplitLeak):  # by id, however it is worded
        trace_pairs([repaired(question="Reworded entirely?", task_id=test.id)])
    draft = drafted(test, "flights.count()", correct=False)
    assert draft_pairs([test], [draft]) == []  # a test-split task is no training task
    with pytest.raises(SplitLeak):  # nor is its question under another id
        draft_pairs([replace(test, id="boot-9", split=None)], [replace(draft, task_id="boot-9")])


def drafted(task: Task, code: str, correct: bool | None) -> Trace:
    return Trace(question=task.question, db=task.db, schema_hash="h", model="m",
                 config_hash="c", task_id=task.id, final_code=code, correct=correct,
                 steps=[Step("draft", outputs={"code": code}, messages=prompt(task.question)),
                        tool("compile", code)])


def test_a_wrong_draft_is_rejected_against_the_gold_program() -> None:
    right, wrong, unjudged = [t for t in load_tasks(TASKS) if t.split == "train"][:3]
    pairs = draft_pairs([right, wrong, unjudged], [
        drafted(right, right.gold_code, True), drafted(wrong, "flights.count()", False),
        drafted(unjudged, "flights.count()", None)])  # None: the gold program failed
    assert pairs == [Pair(prompt(wrong.question), fence(wrong.gold_code),
                          fence("flights.count()"), f"task:{wrong.id}", wrong.question)]


def test_drafts_are_sampled_through_the_pipeline_and_judged(demo_db) -> None:
    tasks = {t.id: t for t in load_tasks(TASKS)}
    count = tasks["nyc-001"].gold_code  # right for nyc-001, wrong for nyc-002
    chosen = [tasks["nyc-001"], tasks["nyc-002"], tasks["nyc-004"]]  # nyc-004: test split
    assert tasks["nyc-004"].split == "test"
    with scripted_server(fence(count)) as api_base:
        lm_config = LMConfig(backend="server", model="base", api_base=api_base)
        traces = sample_drafts(chosen, lm_config, limit=5, progress=False)
    assert sorted(t.task_id for t in traces) == ["nyc-001", "nyc-002"]
    assert {t.task_id: t.correct for t in traces} == {"nyc-001": True, "nyc-002": False}
    (pair,) = draft_pairs(chosen, traces)
    assert pair.source == "task:nyc-002" and pair.rejected == fence(count)
    assert pair.chosen == fence(tasks["nyc-002"].gold_code)
    assert "How many flights from JFK" in pair.prompt[-1]["content"]  # the draft's own prompt


def test_settings_are_checked_before_anything_loads() -> None:
    with pytest.raises(TrainError, match=r"beta=0, min_pairs=0"):
        PreferConfig(beta=0, min_pairs=0)
    with pytest.raises(TrainError, match=r"max_seconds=-1"):
        PreferConfig(max_seconds=-1.0)
    with pytest.raises(TrainError, match="setting lr must be a float"):
        PreferConfig(lr="fast")  # type: ignore[arg-type]


# The DPO step, on the small model --------------------------------------------------------

def tiny_pairs() -> list[Pair]:
    return [Pair(prompt(f"Question {i}: American Airlines?"),
                 fence("airlines.filter(_.carrier == 'AA')"),
                 fence("airlines[airlines.carrier = 'AA']"), f"task:t{i}", f"q{i}")
            for i in range(4)]


@pytest.fixture(scope="module")
def sft(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sft") / "sft"
    examples = [p.example(p.chosen) for p in tiny_pairs()]
    # Three one-step epochs: the first is all warm-up (rate 0), the second moves the weights
    # off the base, the third sees the lower loss and saves them.
    train(examples, out, TrainConfig(base=SMALL, rank=8, alpha=16, epochs=3, batch_size=4,
                                     lr=1e-2, dev_fraction=0.0, patience=2), progress=False)
    return out


def _lora(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def _shas(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_dpo_moves_the_sft_weights_and_writes_a_whole_adapter(sft: Path, tmp_path: Path) -> None:
    import torch

    before = _shas(sft)
    out = tmp_path / "adapters" / "dpo"
    config = PreferConfig(batch_size=4, lr=1e-3)  # one step over the four pairs
    card = prefer(tiny_pairs(), sft, out, SMALL, config, progress=False)

    assert sorted(p.name for p in out.parent.iterdir()) == ["dpo"]  # no staging folder left
    assert {p.name for p in out.iterdir()} >= {"adapter_config.json",
                                               "adapter_model.safetensors", CARD}
    assert not (out / "ref").exists()  # TRL's frozen reference copy is not saved
    saved = json.loads((out / CARD).read_text())
    assert saved == card and card["name"] == "dpo" and card["base_model"] == SMALL
    preference = card["preference"]
    assert preference["pairs"] == 4 and preference["trained"] == 4 and preference["steps"] == 1
    assert preference["hash"] == pairs_hash(tiny_pairs())
    assert preference["sources"] == {"traces": 0, "drafts": 4}
    assert preference["settings"]["beta"] == 0.1 and preference["from_sft"] == str(sft)
    assert card["data"] == json.loads((sft / CARD).read_text())["data"]  # what SFT learnt on

    # The reference is the SFT adapter itself: before the one update, policy and reference
    # agree on every reply (against the bare base model, SFT's gain would show as a reward).
    first = preference["last"]
    assert first["step"] == 1 and first["rewards/chosen"] == first["rewards/rejected"] == 0

    old, new = _lora(sft), _lora(out)
    assert any(v.abs().sum() > 0 for k, v in old.items() if "lora_B" in k)  # SFT is not base
    assert old.keys() == new.keys()
    assert any(not torch.equal(old[k], new[k]) for k in old)
    assert _shas(sft) == before  # the reference adapter is read, never written


def test_a_time_budget_stops_dpo_before_the_step_that_would_not_fit(sft: Path,
                                                                    tmp_path: Path) -> None:
    # one pair a step: four planned; a budget shorter than any step ends it after the first
    config = PreferConfig(batch_size=1, max_seconds=1e-3)
    card = prefer(tiny_pairs(), sft, tmp_path / "dpo", SMALL, config, progress=False)
    assert card["preference"]["planned_steps"] == 4 and card["preference"]["steps"] == 1
    assert (tmp_path / "dpo" / "adapter_model.safetensors").exists()


def test_pairs_longer_than_allowed_are_skipped(sft: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no preference pair fits in 8 tokens"):
        prefer(tiny_pairs(), sft, tmp_path / "dpo", SMALL, PreferConfig(max_length=8),
               progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_no_adapter_behind(sft: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fill_disk_on_save(monkeypatch)
    out = tmp_path / "adapters" / "full"
    with pytest.raises(TrainError) as caught:
        prefer(tiny_pairs()[:1], sft, out, SMALL, PreferConfig(batch_size=1), progress=False)
    message = str(caught.value)
    assert "No space left on device" in message and str(out) in message and "\n" not in message
    assert list((tmp_path / "adapters").iterdir()) == []  # no adapter, no half-written staging


def test_no_pairs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no preference pairs"):
        prefer([], tmp_path / "sft", tmp_path / "dpo", SMALL)


def test_the_hash_ignores_order_and_sees_content() -> None:
    pairs = tiny_pairs()
    assert pairs_hash(pairs) == pairs_hash(pairs[::-1])
    assert pairs_hash(pairs) != pairs_hash([replace(pairs[0], rejected="x"), *pairs[1:]])
