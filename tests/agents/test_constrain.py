"""Constrained decoding: the real default model held to the demo's grammar (llama.cpp and
transformers), the grammar sent to a server, cache separation, and the pipeline under it."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import dspy
import pytest
from dspy.lm15 import Message, Request

from agents.config import AgentConfig
from agents.grammar import accepts, program_grammar
from agents.lm import LMConfig, local_engine, make_lm
from agents.lm.constrain import constrained
from agents.lm.llamacpp import installed as llama_installed
from agents.pipeline import IbisAgent
from tests.agents.fakes import ScriptedLM
from tests.agents.test_lm import fake_server  # noqa: F401 - a fixture
from tools.database import Database
from tools.sandbox import Sandbox
from tools.schema import Schema

SYSTEM = ("Write an Ibis program over the tables flights and airlines (already defined). "
          "Reply with one ```python code block and nothing else.")


def reply(lm: dspy.LM, question: str) -> str:
    """One explicit lm15 Request (system + user), the reply's text."""
    return lm(Request(model=lm.model, system=SYSTEM, messages=(Message.user(question),))).text


@pytest.fixture(scope="module", params=["llama.cpp", "transformers"])
def default_lm(request: pytest.FixtureRequest, default_model: Path) -> dspy.LM:
    if request.param == "llama.cpp" and not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    return make_lm(LMConfig(runtime=request.param, cache=False, max_tokens=96))


@pytest.mark.slow
def test_constrained_replies_stay_in_the_grammar(default_lm: dspy.LM, demo_schema: Schema
                                                 ) -> None:
    grammar = program_grammar(demo_schema)
    held = constrained(default_lm, grammar)
    # Asked for pandas, the model can only write what the grammar allows.
    text = reply(held, "How many flights are there? Use pandas len(df).")
    # every token within the grammar (a small model may still run to max_tokens before `)`)
    assert accepts(grammar, text, whole=False), text
    assert "len(" not in text and "import" not in text
    engine = local_engine(default_lm)
    assert engine.mask_stats.tokens > 0 and engine.mask_stats.ms_per_token > 0
    free = reply(default_lm, "How many flights are there? Use pandas len(df).")
    assert not accepts(grammar, free)  # free, the model does write pandas for this prompt


def test_the_grammar_goes_to_a_server_in_structured_outputs(fake_server) -> None:  # noqa: F811
    base, handler = fake_server
    lm = make_lm(LMConfig(backend="server", model="base", api_base=base, cache=False))
    held = constrained(lm, "start: \"x\"\n")
    held("hi")
    assert handler.bodies[-1]["structured_outputs"] == {"grammar": "start: \"x\"\n"}
    lm("hi")
    assert "structured_outputs" not in handler.bodies[-1]  # the original is left as it was


def test_server_calls_leave_no_event_loop_to_collect(fake_server) -> None:  # noqa: F811
    """A blocking call that litellm's own Python path serves (structured outputs take it),
    then an `asyncio.run`, then a collection: no unclosed loop is left for the garbage
    collector to warn about inside a later test (see tests/conftest.py)."""
    base, _ = fake_server
    lm = make_lm(LMConfig(backend="server", model="base", api_base=base, cache=False))
    assert constrained(lm, "start: \"x\"\n")("hi") == ["from base"]

    async def nothing() -> None:
        pass

    asyncio.run(nothing())
    gc.collect()  # an unclosed loop would warn here, and warnings are errors


def test_a_constrained_copy_has_its_own_cache_key(small_model: Path) -> None:
    lm = make_lm(LMConfig(model="smollm2-135m", runtime="transformers"))
    held = constrained(lm, "start: \"x\"\n")
    other = constrained(lm, "start: \"y\"\n")
    assert len({lm.model, held.model, other.model}) == 3
    assert local_engine(lm) is not None and held.kwargs == lm.kwargs


def test_a_backend_that_cannot_constrain_answers_unconstrained(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox
) -> None:
    lm = ScriptedLM(["```python\nflights.count()\n```"])
    assert constrained(lm, "start: \"x\"\n") is None
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(constrain=True, rounds=0),
                      sandbox=sandbox)
    with dspy.context(lm=lm):
        prediction = agent(question="How many flights are there?")
    assert prediction.verified and prediction.answer["rows"] == [[336776]]


@pytest.mark.slow
def test_the_pipeline_answers_constrained_on_the_real_model(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox, default_model: Path
) -> None:
    if not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    lm = make_lm(LMConfig(cache=False))
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(constrain=True), sandbox=sandbox)
    with dspy.context(lm=lm):
        prediction = agent(question="How many flights are there?")
    assert prediction.verified, prediction.answer
    assert prediction.answer["rows"] == [[336776]]
    drafts = [s for s in prediction.trace.steps if s.name in ("draft", "revise")]
    assert drafts and local_engine(lm).mask_stats.tokens > 0


@pytest.mark.parametrize("retry_works", [True, False])
def test_a_failed_draft_is_written_again_within_the_grammar_before_revising(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
    retry_works: bool,
) -> None:
    """constrain_retry: the draft's own prompt, once, greedy, through the grammar-bound LM;
    its program is kept if it works, else the first draft is the one revised."""
    free = ScriptedLM(["```python\nlen(df)\n```", "Use count.",
                       "```python\nflights.count()\n```"])
    retry = "```python\n" + ("flights.count()" if retry_works else "flights.nope()") + "\n```"
    held = ScriptedLM([retry])
    seen = []
    monkeypatch.setattr("agents.pipeline.constrained",
                        lambda lm, grammar: seen.append((lm, grammar)) or held)
    agent = IbisAgent(demo_db, demo_schema,
                      AgentConfig(constrain_retry=True, rounds=1, reflect=True), sandbox=sandbox)
    with dspy.context(lm=free):
        prediction = agent(question="How many flights are there?")
    assert prediction.verified and prediction.answer["rows"] == [[336776]]
    assert seen == [(free, program_grammar(demo_schema))] and held.remaining == 0
    steps = {s.name: s for s in prediction.trace.steps}
    assert steps["constrained_draft"].messages == steps["draft"].messages
    assert held.requests[0].config.temperature in (None, 0.0)  # greedy, like the draft
    assert ("revise" in steps) != retry_works and free.remaining == (2 if retry_works else 0)
    if not retry_works:
        assert "len(df)" in steps["reflect"].inputs["code"]  # the first draft is revised


def test_without_the_setting_a_failed_draft_gets_no_constrained_retry(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = ScriptedLM(["```python\nlen(df)\n```"])
    monkeypatch.setattr("agents.pipeline.constrained", pytest.fail)
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(rounds=0), sandbox=sandbox)
    with dspy.context(lm=free):
        assert not agent(question="How many flights are there?").verified


def test_a_backend_that_cannot_constrain_gets_no_retry(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox
) -> None:
    """Unconstrained, the retry would only ask the same prompt again, greedy: no call."""
    free = ScriptedLM(["```python\nlen(df)\n```"])  # one reply: a second call would fail
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(constrain_retry=True, rounds=0),
                      sandbox=sandbox)
    with dspy.context(lm=free):
        prediction = agent(question="How many flights are there?")
    assert not prediction.verified and free.remaining == 0
    assert "constrained_draft" not in [s.name for s in prediction.trace.steps]


@pytest.mark.slow
def test_the_constrained_retry_runs_on_the_real_model(
    demo_db: Database, demo_schema: Schema, sandbox: Sandbox, default_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The draft fails (scripted pandas); the retry is the real default model held to the
    real grammar, from the draft's prompt, and answers."""
    if not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    real = make_lm(LMConfig(cache=False))
    monkeypatch.setattr("agents.pipeline.constrained",
                        lambda lm, grammar: constrained(real, grammar))
    agent = IbisAgent(demo_db, demo_schema, AgentConfig(constrain_retry=True, rounds=0),
                      sandbox=sandbox)
    with dspy.context(lm=ScriptedLM(["```python\nlen(df)\n```"])):
        prediction = agent(question="How many flights are there?")
    retried = next(s for s in prediction.trace.steps if s.name == "constrained_draft")
    code = retried.outputs["code"]  # the reply's block, the fence off
    assert accepts(program_grammar(demo_schema), f"```python\n{code}", whole=False), code
    assert local_engine(real).mask_stats.tokens > 0
    assert prediction.verified and prediction.answer["rows"] == [[336776]], retried.outputs
