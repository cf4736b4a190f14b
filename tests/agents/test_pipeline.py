"""Control flow of the ask pipeline with a scripted LM; real sandbox, real demo database."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from agents.config import AgentConfig, ConfigError
from agents.pipeline import IbisAgent
from agents.traces import Trace, TraceStore
from tests.agents.fakes import INTERRUPT, ScriptedLM
from tools.calls import execute
from tools.database import Database
from tools.sandbox import Sandbox
from tools.schema import Schema

GOOD = ("flights.group_by('carrier').agg(avg_delay=_.arr_delay.mean())"
        ".order_by(ibis.desc('avg_delay')).limit(3)")
QUESTION = "Which three carriers had the highest average arrival delay?"


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture
def store(tmp_path: Path) -> TraceStore:
    return TraceStore(tmp_path / "traces.sqlite")


def make_agent(replies: list[str], demo_db: Database, demo_schema: Schema, sandbox: Sandbox,
               store: TraceStore, **config) -> tuple[IbisAgent, ScriptedLM]:
    lm = ScriptedLM(replies)
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(**config), sandbox=sandbox, store=store,
                      model="scripted")
    agent.set_lm(lm)
    return agent, lm


def test_correct_program_returns_the_right_table(demo_db, demo_schema, sandbox, store) -> None:
    agent, lm = make_agent([fenced(GOOD)], demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    expected = execute(GOOD, demo_db, sandbox=sandbox)
    assert prediction.answer["ok"] and prediction.verified
    assert prediction.answer["rows"] == expected.preview["rows"]
    assert prediction.answer["rows"][0][0] == "F9"
    assert prediction.sql == expected.sql and lm.remaining == 0
    names = [s.name for s in prediction.trace.steps]
    assert names == ["retrieve", "draft", "compile", "execute_on_sample", "execute_full"]


def test_compile_error_is_fed_back_and_revised(demo_db, demo_schema, sandbox, store) -> None:
    replies = [fenced("flights.groupby('carrier').mean()"), "Use group_by and agg.", fenced(GOOD)]
    agent, lm = make_agent(replies, demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    assert prediction.answer["ok"] and prediction.code == GOOD
    steps = prediction.trace.steps
    assert [s.name for s in steps] == [
        "retrieve", "draft", "compile", "reflect", "retrieve_on_error", "revise", "compile",
        "execute_on_sample", "execute_full"]
    error = steps[2].tool_result["error"]
    assert "groupby" in error
    # the error reached the model: in the reflect and revise prompts, and in the retrieval query
    assert error in steps[3].messages[-1]["content"] and error in steps[5].messages[-1]["content"]
    assert "Use group_by and agg." in steps[5].messages[-1]["content"]
    assert "group_by" in steps[4].outputs["docs"][0] or any(
        "group_by" in d for d in steps[4].outputs["docs"])
    assert len(lm.requests) == 3
    # the diagnosis is prose: it stops at a code block, which the revision would copy
    assert "```" in lm.requests[1].config.stop and lm.requests[1].config.max_tokens == 96


def test_runtime_error_is_fed_back(demo_db, demo_schema, sandbox, store) -> None:
    bad = "flights.select(x=_.carrier.cast('int64'))"
    replies = [fenced(bad), "carrier is text", fenced(GOOD)]
    agent, _ = make_agent(replies, demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    steps = prediction.trace.steps
    assert steps[3].name == "execute_on_sample" and steps[3].tool_result["kind"] == "runtime_error"
    assert prediction.answer["ok"]


def test_hostile_code_is_stopped_with_a_clear_message(demo_db, demo_schema, sandbox,
                                                      store) -> None:
    hostile = fenced("import os\nos.system('rm -rf /')")
    agent, _ = make_agent([hostile, "no imports", hostile, hostile], demo_db, demo_schema,
                          sandbox, store, rounds=1)
    prediction = agent(question=QUESTION)
    assert not prediction.answer["ok"] and not prediction.verified
    assert prediction.answer["error"].startswith("rejected: imports are not allowed")
    assert "execute_full" not in [s.name for s in prediction.trace.steps]


def test_a_repeated_revision_is_asked_again_differently(demo_db, demo_schema, sandbox,
                                                      store) -> None:
    bad = fenced("flights.sort_values('arr_delay')")
    agent, lm = make_agent([bad, "sort it", bad, fenced(GOOD)], demo_db, demo_schema, sandbox,
                           store, rounds=1)
    prediction = agent(question=QUESTION)
    assert prediction.answer["ok"] and lm.remaining == 0
    revises = [s for s in prediction.trace.steps if s.name == "revise"]
    assert len(revises) == 2
    first, second = (r.messages[-1]["content"] for r in revises)
    assert "already wrote this exact program" in second and first != second
    # the retry samples: it cannot be a cache hit or a greedy repeat of the same prompt
    assert lm.requests[-1].config.temperature > 0


def test_scaffolding_is_tidied_before_the_tools(demo_db, demo_schema, sandbox, store) -> None:
    script = ("import ibis\ncon = ibis.duckdb.connect('flights.db')\nt = con.table('flights')\n"
              "result = t.group_by('carrier').agg(avg_delay=t.arr_delay.mean())"
              ".order_by(ibis.desc('avg_delay')).limit(3)\nprint(result.execute())")
    agent, _ = make_agent([fenced(script)], demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    assert prediction.answer["ok"] and prediction.answer["rows"][0][0] == "F9"
    assert "import" not in prediction.code and "print" not in prediction.code
    assert prediction.trace.steps[1].outputs["code"].startswith("import ibis")  # raw reply kept


def test_a_hint_reaches_the_revise_prompt(demo_db, demo_schema, sandbox, store) -> None:
    replies = [fenced("flights.filter(_.Carrier == 'UA').count()"), "fix the case", fenced(GOOD)]
    agent, _ = make_agent(replies, demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    revise = next(s for s in prediction.trace.steps if s.name == "revise")
    assert "did you mean 'carrier'?" in revise.messages[-1]["content"]


def test_near_miss_replies_are_parsed(demo_db, demo_schema, sandbox, store) -> None:
    chatty = f"Sure! Here is the program:\n```\n{GOOD}\n```\nIt sorts by delay."
    agent, _ = make_agent([chatty], demo_db, demo_schema, sandbox, store)
    assert agent(question=QUESTION).code == GOOD
    agent, _ = make_agent([GOOD], demo_db, demo_schema, sandbox, store)  # no fence at all
    assert agent(question=QUESTION).answer["ok"]
    prose = f"The error is the `groupby`. The correct program is `{GOOD}` and `x` is unused."
    agent, _ = make_agent([prose], demo_db, demo_schema, sandbox, store)  # code inline in prose
    assert agent(question=QUESTION).code == GOOD


def test_unparseable_reply_becomes_feedback(demo_db, demo_schema, sandbox, store) -> None:
    agent, _ = make_agent(["", "write code", fenced(GOOD)], demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION)
    assert prediction.trace.steps[2].tool_result["kind"] == "rejected"  # empty program
    assert prediction.answer["ok"]


def test_candidates_vote_by_result(demo_db, demo_schema, sandbox, store) -> None:
    other = "flights.group_by('carrier').agg(n=_.count()).order_by(ibis.desc('n')).limit(3)"
    same_result = GOOD.replace("avg_delay", "d")  # agrees with GOOD on values
    replies = [fenced(other), fenced(GOOD), fenced(same_result)]
    agent, lm = make_agent(replies, demo_db, demo_schema, sandbox, store, candidates=3)
    prediction = agent(question=QUESTION)
    assert prediction.code == GOOD
    vote = next(s for s in prediction.trace.steps if s.name == "vote")
    assert vote.outputs["agreeing"] == 2
    greedy, sampled = lm.requests[0].config, lm.requests[1].config
    assert not greedy.temperature and sampled.temperature == agent.config.temperature


def test_a_tied_vote_keeps_the_greedy_draft(demo_db, demo_schema, sandbox, store) -> None:
    other = "flights.group_by('carrier').agg(n=_.count()).order_by(ibis.desc('n')).limit(3)"
    agent, _ = make_agent([fenced(GOOD), fenced(other)], demo_db, demo_schema, sandbox, store,
                          candidates=2)
    assert agent(question=QUESTION).code == GOOD


def test_failed_draft_is_redrafted_from_the_same_prompt_before_revising(
        demo_db, demo_schema, sandbox, store) -> None:
    bad = "flights.groupby('carrier').mean()"
    same_result = GOOD.replace("avg_delay", "d")
    replies = [fenced(bad), fenced(bad), fenced(GOOD), fenced(same_result)]
    agent, lm = make_agent(replies, demo_db, demo_schema, sandbox, store, redrafts=3)
    prediction = agent(question=QUESTION)
    assert prediction.answer["ok"] and prediction.code == GOOD and lm.remaining == 0
    names = [s.name for s in prediction.trace.steps]
    assert "revise" not in names and names.count("compile") == 3  # the repeat is not re-run
    draft, redraft = (next(s for s in prediction.trace.steps if s.name == n)
                      for n in ("draft", "redraft"))
    assert redraft.messages == draft.messages  # the same prompt, sampled
    assert lm.requests[1].config.temperature == agent.config.temperature > 0


def test_redrafts_that_all_fail_leave_the_revise_rounds(demo_db, demo_schema, sandbox,
                                                        store) -> None:
    bad = "flights.groupby('carrier').mean()"
    replies = [fenced(bad), fenced("flights.nope()"), "Use group_by.", fenced(GOOD)]
    agent, _ = make_agent(replies, demo_db, demo_schema, sandbox, store, redrafts=1)
    prediction = agent(question=QUESTION)
    assert prediction.answer["ok"] and prediction.code == GOOD
    revise = next(s for s in prediction.trace.steps if s.name == "reflect")
    assert "groupby" in revise.inputs["code"]  # the first draft is the one revised


def test_rounds_bound_the_revisions(demo_db, demo_schema, sandbox, store) -> None:
    agent, lm = make_agent([fenced("flights.nope()")], demo_db, demo_schema, sandbox, store,
                           rounds=0)
    prediction = agent(question=QUESTION)
    assert not prediction.answer["ok"] and lm.remaining == 0


def test_trace_is_stored_and_matches_the_record_schema(demo_db, demo_schema, sandbox,
                                                       store) -> None:
    agent, _ = make_agent([fenced(GOOD)], demo_db, demo_schema, sandbox, store)
    prediction = agent(question=QUESTION, task_id="t-1")
    stored = store.get(prediction.trace.trace_id)
    assert stored == prediction.trace
    record = pydantic.TypeAdapter(Trace).validate_python(stored.to_dict())
    assert record.task_id == "t-1" and record.verified and record.final_sql
    assert record.schema_hash == demo_schema.hash and record.tokens > 0


def test_interrupted_run_keeps_its_trace(demo_db, demo_schema, sandbox, store) -> None:
    replies = [fenced("flights.nope()"), INTERRUPT]
    agent, _ = make_agent(replies, demo_db, demo_schema, sandbox, store)
    with pytest.raises(KeyboardInterrupt):
        agent(question=QUESTION)
    (trace,) = store.iter()
    assert [s.name for s in trace.steps] == ["retrieve", "draft", "compile"]
    assert not trace.verified


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="rounds=-1"):
        AgentConfig(rounds=-1)
