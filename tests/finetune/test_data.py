"""Training data: the inference prompt format, and never a test-split question."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.adapter import CodeAdapter
from agents.config import AgentConfig
from agents.pipeline import IbisAgent
from agents.signatures import DraftIbis
from agents.traces import Step, Trace
from finetune.data import (
    SplitLeak,
    data_hash,
    dedupe,
    guard,
    held_out,
    normalize,
    task_examples,
    trace_examples,
)
from harness.tasks import Task, load_tasks

TASKS = Path(__file__).resolve().parents[2] / "bench" / "tasks" / "nycflights13.jsonl"


def test_examples_use_the_inference_prompt(demo_db, demo_schema) -> None:
    task = load_tasks(TASKS, splits="train")[0]
    (example,) = task_examples([task])
    agent = IbisAgent(demo_db, demo_schema, AgentConfig())  # as `ask` builds it
    prompt = CodeAdapter().format(DraftIbis, [], agent.draft_inputs(task.question))
    assert example.messages[:-1] == prompt
    assert example.messages[-1] == {"role": "assistant",
                                    "content": f"```python\n{task.gold_code}\n```"}


def test_test_split_never_becomes_data(demo_db) -> None:
    tasks = load_tasks(TASKS)
    examples = task_examples(tasks)
    test = [t for t in tasks if t.split == "test"]
    ids, questions = held_out()
    assert len(test) >= 60 and {t.id for t in test} <= ids
    assert examples and len(examples) == len([t for t in tasks if t.split != "test"])
    assert not {e.source.removeprefix("task:") for e in examples} & ids
    assert not {normalize(e.question) for e in examples} & questions


def test_guard_catches_a_test_question_by_text_and_by_id() -> None:
    test_task = next(t for t in load_tasks(TASKS) if t.split == "test")
    reworded = Task(id="boot-1", db="nycflights13", question=test_task.question.upper() + " ",
                    gold_code="flights.count()")
    examples = task_examples([reworded])
    with pytest.raises(SplitLeak):
        guard(examples)
    trace = Trace(question="something new", db="nycflights13", schema_hash="x", model="m",
                  config_hash="c", task_id=test_task.id, final_code="flights.count()",
                  verified=True, steps=[Step("draft", messages=[{"role": "user",
                                                                 "content": "q"}])])
    with pytest.raises(SplitLeak):
        guard(trace_examples([trace]), {trace.trace_id: trace.task_id})


def test_only_verified_and_not_wrong_traces_teach() -> None:
    def trace(verified: bool, correct: bool | None) -> Trace:
        return Trace(question="q", db="d", schema_hash="x", model="m", config_hash="c",
                     final_code="t.count()", verified=verified, correct=correct,
                     steps=[Step("draft", messages=[{"role": "user", "content": "q"}])])

    kept = trace_examples([trace(True, True), trace(True, None), trace(True, False),
                           trace(False, None)])
    assert len(kept) == 2
    assert kept[0].messages[-1]["content"] == "```python\nt.count()\n```"


def test_dedupe_and_hash_are_order_free(demo_db) -> None:
    tasks = load_tasks(TASKS, splits="train")[:3]
    examples = task_examples(tasks)
    assert dedupe(examples + examples) == examples
    assert data_hash(examples) == data_hash(list(reversed(examples)))
