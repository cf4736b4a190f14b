"""Training data: the inference prompt format, never a test-split question, only confirmed
traces, and the repairs of failed-then-fixed runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.adapter import CodeAdapter
from agents.config import AgentConfig
from agents.pipeline import IbisAgent
from agents.signatures import DraftIbis
from agents.traces import Step, Trace, TraceStore
from finetune.data import (
    SplitLeak,
    confirmed,
    data_hash,
    dedupe,
    guard,
    held_out,
    normalize,
    task_examples,
    trace_examples,
    training_traces,
)
from harness.tasks import Task, load_tasks
from tests.agents.fakes import ScriptedLM
from tools.records import ToolResult

TASKS = Path(__file__).resolve().parents[2] / "bench" / "tasks" / "nycflights13.jsonl"
GOOD = ("flights.group_by('carrier').agg(avg_delay=_.arr_delay.mean())"
        ".order_by(ibis.desc('avg_delay')).limit(3)")
QUESTION = "Which three carriers had the highest average arrival delay?"


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
                  verified=True, correct=True, steps=[Step("draft", messages=[{"role": "user",
                                                                 "content": "q"}])])
    with pytest.raises(SplitLeak):
        guard(trace_examples([trace]), {trace.trace_id: trace.task_id})


def ran(code: str, rows: list[list]) -> list[Step]:
    result = ToolResult(ok=True, kind="ok", preview={"columns": ["n"], "rows": rows},
                        rows=len(rows))
    return [Step("execute_on_sample", inputs={"code": code}, tool_result=result.to_dict())]


def judged(verified: bool = True, correct: bool | None = None, steps: list[Step] = ()) -> Trace:
    return Trace(question="q", db="d", schema_hash="x", model="m", config_hash="c",
                 final_code="t.count()", verified=verified, correct=correct,
                 steps=[Step("draft", messages=[{"role": "user", "content": "q"}]), *steps])


VOTE = [Step("vote", outputs={"agreeing": 2, "code": "t.count()"})]
AGREED = ran("t.count()", [[3]]) + ran("t.agg(n=_.count())", [[3]]) + VOTE
SAME_TWICE = ran("t.count()", [[3]]) + ran("t.count()", [[3]]) + VOTE  # one program, not two
OUTVOTED = ran("t.count()", [[3]]) + ran("t.agg(n=_.count())", [[4]]) + VOTE


@pytest.mark.parametrize(("trace", "rating", "teaches"), [
    (judged(correct=True), None, True),  # matched gold
    (judged(), "up", True),  # accepted by the person who asked
    (judged(steps=AGREED), None, True),  # two different programs agreed on the result
    (judged(), None, False),  # verified is not enough: it may answer another question
    (judged(steps=SAME_TWICE), None, False),
    (judged(steps=OUTVOTED), None, False),
    (judged(correct=True), "down", False),  # marked bad never teaches, gold or not
    (judged(steps=AGREED), "down", False),
    (judged(correct=False), "up", False),  # gold found it wrong
    (judged(verified=False, correct=True), "up", False),  # it never ran on the data
], ids=["gold", "marked-good", "vote", "unconfirmed", "same-program-twice", "outvoted",
        "gold-but-marked-bad", "vote-but-marked-bad", "marked-good-but-wrong", "unverified"])
def test_only_confirmed_traces_teach(trace: Trace, rating: str | None, teaches: bool) -> None:
    assert confirmed(trace, rating) is teaches
    examples = trace_examples([trace], {trace.trace_id: rating} if rating else {})
    assert len(examples) == (1 if teaches else 0)
    if teaches:
        assert examples[0].messages[-1]["content"] == "```python\nt.count()\n```"


def test_a_vote_in_a_real_run_confirms_only_different_programs(
        demo_db, demo_schema, sandbox, tmp_path: Path) -> None:
    other = "flights.group_by('carrier').agg(n=_.count()).order_by(ibis.desc('n')).limit(3)"
    same_result = GOOD.replace("avg_delay", "d")  # agrees with GOOD on values
    agreed_run = run_agent([fenced(other), fenced(GOOD), fenced(same_result)], demo_db,
                           demo_schema, sandbox, tmp_path, candidates=3)
    echoed_run = run_agent([fenced(other), fenced(GOOD), fenced(GOOD)], demo_db, demo_schema,
                           sandbox, tmp_path, candidates=3)
    for trace in (agreed_run, echoed_run):
        assert trace.final_code == GOOD and trace.verified and trace.correct is None
    assert confirmed(agreed_run) and not confirmed(echoed_run)
    (example,) = dedupe(trace_examples([agreed_run, echoed_run]))  # one prompt, drafted twice
    assert example.source == f"trace:{agreed_run.trace_id}"
    assert example.messages[-1]["content"] == fenced(GOOD)


def test_a_failed_then_fixed_run_teaches_its_repair(demo_db, demo_schema, sandbox,
                                                    tmp_path: Path) -> None:
    first = "flights.groupby('carrier').mean()"  # a compile error
    second = "flights.select(x=_.carrier.cast('int64'))"  # a runtime error
    scaffolded = f"import ibis\n{GOOD}.execute()"  # right, once tidied to GOOD
    trace = run_agent([fenced(first), "use group_by", fenced(second), "carrier is text",
                       fenced(scaffolded)], demo_db, demo_schema, sandbox, tmp_path, rounds=2,
                      check=lambda code: code.strip() == GOOD)
    assert trace.correct and trace.final_code.strip() == GOOD
    revisions = [s for s in trace.steps if s.name == "revise"]
    assert [s.outputs["fixed_code"] for s in revisions] == [second, scaffolded]
    draft, repair = trace_examples([trace])
    assert draft.messages[:-1] == next(s for s in trace.steps if s.name == "draft").messages
    # the last revise prompt (the program that failed, and its error) -> the fixed program
    assert repair.messages[:-1] == revisions[1].messages
    error = [s for s in trace.steps if s.name == "execute_on_sample"][0].tool_result["error"]
    assert second in repair.messages[-2]["content"] and error in repair.messages[-2]["content"]
    assert repair.messages[-1] == {"role": "assistant", "content": fenced(GOOD)}


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def run_agent(replies: list[str], db, schema, sandbox, tmp_path: Path,  # noqa: ANN001
              check=None, **config) -> Trace:  # noqa: ANN001
    """One run of the real pipeline with a scripted LM; its trace."""
    agent = IbisAgent(db, schema, AgentConfig(**config), sandbox=sandbox,
                      store=TraceStore(tmp_path / "traces.sqlite"), model="scripted")
    lm = ScriptedLM(replies)
    agent.set_lm(lm)
    trace = agent(question=QUESTION, check=check).trace
    assert lm.remaining == 0
    return trace


def test_dedupe_and_hash_are_order_free(demo_db) -> None:
    tasks = load_tasks(TASKS, splits="train")[:3]
    examples = task_examples(tasks)
    assert dedupe(examples + examples) == examples
    assert data_hash(examples) == data_hash(list(reversed(examples)))


def test_traces_of_test_split_questions_never_teach() -> None:
    test_task = next(t for t in load_tasks(TASKS) if t.split == "test")

    def run(**fields) -> Trace:
        base = {"question": "How many flights are there in all?", "db": "nycflights13",
                "schema_hash": "x", "model": "m", "config_hash": "c",
                "final_code": "flights.count()", "verified": True, "correct": True}
        return Trace(**(base | fields))

    by_id = run(task_id=test_task.id)  # a benchmark's run of a test task
    by_text = run(question=test_task.question.lower())  # the same question, asked by hand
    other = run(task_id="boot-7")
    assert training_traces([by_id, by_text, other]) == [other]
