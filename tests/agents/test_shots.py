"""The bank of verified examples: recall by similarity, the file format, and the pipeline's use
of it (a scripted LM; real sandbox, real demo database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.examples import schema_examples
from agents.pipeline import IbisAgent
from agents.shots import Shot, ShotBank, ShotsError, read_shots, render, write_shots
from tests.agents.test_pipeline import GOOD, QUESTION, fenced, make_agent

SHOTS = [
    Shot("How many flights have no tail number recorded?",
         "flights.filter(_.tailnum.isnull()).agg(n=_.count())"),
    Shot("What is the average departure delay of flights?",
         "flights.agg(avg_dep_delay=_.dep_delay.mean())"),
    Shot("Which carrier has the highest average arrival delay?",
         "flights.group_by('carrier').agg(d=_.arr_delay.mean()).order_by(ibis.desc('d'))"
         ".limit(1)"),
    Shot("How many airports are there?", "airports.agg(n=_.count())"),
]
# Unrelated pairs, so that word weights are those of a real bank (a word in half of four
# questions weighs nothing to BM25).
FILLER = [Shot(f"List the {w} of planes built in {1990 + i}.", f"planes.select('{w}')")
          for i, w in enumerate(["model", "seats", "engines", "speed", "type", "engine"])]


def test_the_nearest_questions_come_first_and_never_the_question_itself() -> None:
    bank = ShotBank(SHOTS + FILLER)
    near = bank.similar("Which carriers had the highest average arrival delay?", 2)
    assert near == [SHOTS[2], SHOTS[1]]
    same = bank.similar("Which carrier has the highest average arrival delay?", 4)
    assert SHOTS[2] not in same  # a task in the bank is not shown its own answer
    assert bank.similar("zebra giraffe", 3) == []  # nothing in common: nothing shown
    assert ShotBank([]).similar(QUESTION, 3) == []


def test_render_puts_the_nearest_last_next_to_the_question() -> None:
    text = render(SHOTS[:2])
    assert text.splitlines() == [f"Q: {SHOTS[1].question}", SHOTS[1].code,
                                 f"Q: {SHOTS[0].question}", SHOTS[0].code]


def test_shots_files_round_trip_and_bad_ones_are_one_clear_error(tmp_path: Path) -> None:
    path = write_shots(tmp_path / "db-abc.jsonl", SHOTS)
    assert read_shots(path) == SHOTS and not list(tmp_path.glob("*.tmp"))
    path.write_text('{"question": "q", "code": "c"}\nnot json\n')
    with pytest.raises(ShotsError, match=r"db-abc.jsonl:2: not a shot"):
        read_shots(path)
    with pytest.raises(ShotsError, match="cannot read shots file"):
        read_shots(tmp_path / "missing.jsonl")


def test_the_draft_prompt_shows_the_recalled_shots(demo_db, demo_schema, sandbox,
                                                   tmp_path) -> None:
    from agents.traces import TraceStore

    store = TraceStore(tmp_path / "traces.sqlite")
    agent, _ = make_agent([fenced(GOOD)], demo_db, demo_schema, sandbox, store, shots_k=2)
    agent.shots = ShotBank(SHOTS + FILLER)
    prediction = agent(question=QUESTION)
    recall = next(s for s in prediction.trace.steps if s.name == "recall")
    assert recall.outputs["questions"][0] == SHOTS[2].question
    prompt = next(s for s in prediction.trace.steps if s.name == "draft").messages[-1]["content"]
    assert SHOTS[2].code in prompt and SHOTS[3].code not in prompt


def test_without_a_bank_or_with_shots_off_the_schema_examples_stand_in(
        demo_db, demo_schema, sandbox) -> None:
    from agents.config import AgentConfig
    from agents.linking import link_tables

    plain = IbisAgent(demo_db, demo_schema, sandbox=sandbox)
    off = IbisAgent(demo_db, demo_schema, AgentConfig(shots_k=0), sandbox=sandbox,
                    shots=ShotBank(SHOTS))
    expected = schema_examples(demo_schema, link_tables(QUESTION, demo_schema), QUESTION)
    assert plain.draft_inputs(QUESTION)["examples"] == expected
    assert off.draft_inputs(QUESTION)["examples"] == expected
