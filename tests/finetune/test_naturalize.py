"""Natural questions by back-translation: scripted LMs for the control flow (the real sandbox
and demo database judge every answer), and one run on the real default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import finetune.bootstrap
from agents.config import AgentConfig
from agents.lm import DEFAULT_MODEL, LMConfig, make_lm
from agents.lm.catalogue import MARKER, lookup, model_dir
from agents.shots import normalized
from devstarl import bootstrap as bootstrap_cli
from finetune.bootstrap import bootstrap, write_tasks
from finetune.naturalize import (
    STYLES,
    VERBALIZER,
    NaturalizeError,
    cache_path,
    clean,
    naturalize,
    style_for,
    verbalizer_model,
)
from harness.judge import Judge
from harness.tasks import load_tasks, resolve_db
from tests.agents.fakes import ScriptedLM
from tools.errors import DevstarlError

FAST = AgentConfig(rounds=0, docs_k=0)  # one draft per answer: one scripted reply


def task(task_id: str, question: str, gold_code: str) -> dict:
    return {"version": 1, "id": task_id, "db": "demo", "question": question,
            "gold_code": gold_code, "gold_sql": None, "ordered": False, "difficulty": "easy",
            "source": "bootstrap", "category": "aggregate"}


UA = task("t-ua", "How many flights are there whose carrier is 'UA'?",
          "flights.filter(_.carrier == 'UA').count()")
LONGEST = task("t-max", "What is the highest air time of flights?",
               "flights.agg(max_air_time=_.air_time.max())")


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def prompt(request) -> str:  # noqa: ANN001 - a dspy.lm15 Request
    return "\n".join(str(request.system or "") + "".join(getattr(p, "text", "") for p in m.parts)
                     for m in request.messages)


def run(tasks: list[dict], cache: Path, verbalizer: ScriptedLM, answerer: ScriptedLM,
        sandbox, seed: int = 0):  # noqa: ANN001, ANN201
    return naturalize(tasks, cache, verbalizer, answerer, seed=seed, agent_config=FAST,
                      sandbox=sandbox, progress=False)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_rewrite_answered_right_is_kept(tmp_path: Path, demo_db, sandbox) -> None:
    rewrite = "How many United flights are there?"
    verbalizer = ScriptedLM([f'Question: "{rewrite}"'])
    answerer = ScriptedLM([fenced("flights.filter(flights.carrier == 'UA').count()")])
    done = run([UA], tmp_path / "c.jsonl", verbalizer, answerer, sandbox)

    style = style_for("t-ua", 0)
    (kept,) = done.tasks
    assert kept == {**UA, "id": "t-ua-nat", "question": rewrite,
                    "source": f"bootstrap+natural:{style}+backtranslated"}
    shown = prompt(verbalizer.requests[0])  # the template, the program, its result and a style
    assert all(s in shown for s in (UA["question"], UA["gold_code"], STYLES[style], "1 rows"))
    assert rewrite in prompt(answerer.requests[0])  # the pipeline answered the rewrite
    (line,) = lines(tmp_path / "c.jsonl")
    assert line["kept"] and line["why"] == "matched" and line["template"] == UA["question"]
    write_tasks(done.tasks, tmp_path / "natural.jsonl")  # still a valid task file
    assert load_tasks(tmp_path / "natural.jsonl")[0].question == rewrite


def test_a_wrong_paraphrase_is_dropped(tmp_path: Path, demo_db, sandbox) -> None:
    # The rewrite loses the filter: the pipeline answers it faithfully, with another result.
    verbalizer = ScriptedLM(["How many flights are there?"])
    answerer = ScriptedLM([fenced("flights.count()")])
    done = run([UA], tmp_path / "c.jsonl", verbalizer, answerer, sandbox)

    assert done.tasks == [] and done.reasons == {"wrong result": 1}
    (line,) = lines(tmp_path / "c.jsonl")
    assert not line["kept"] and line["task"] is None and line["code"] == "flights.count()"
    assert answerer.remaining == 0  # it was answered back, not judged by its wording


def test_an_unchanged_or_empty_rewrite_is_dropped_unasked(tmp_path: Path, demo_db,
                                                          sandbox) -> None:
    verbalizer = ScriptedLM([UA["question"].lower(), "  \n"])
    answerer = ScriptedLM([])
    done = run([UA, LONGEST], tmp_path / "c.jsonl", verbalizer, answerer, sandbox)
    assert [r.why for r in done.rewrites] == ["unchanged", "empty"] and done.tasks == []
    assert answerer.requests == []


def test_the_same_seed_gives_the_same_styles_and_prompts(tmp_path: Path, demo_db,
                                                         sandbox) -> None:
    tasks = [UA, LONGEST]
    runs = []
    for name in ("a", "b"):
        verbalizer = ScriptedLM([t["question"] for t in tasks])  # unchanged: nothing answered
        done = run(tasks, tmp_path / f"{name}.jsonl", verbalizer, ScriptedLM([]), sandbox, 3)
        runs.append(([r.style for r in done.rewrites], [prompt(r) for r in verbalizer.requests]))
    assert runs[0] == runs[1]
    assert runs[0][0] == [style_for(t["id"], 3) for t in tasks]
    ids = [f"task-{i}" for i in range(20)]
    assert [style_for(i, 3) for i in ids] != [style_for(i, 4) for i in ids]
    assert {style_for(i, 3) for i in ids} == set(STYLES)


def test_a_rerun_takes_every_decision_from_the_cache(tmp_path: Path, demo_db, sandbox) -> None:
    cache = tmp_path / "c.jsonl"
    first = run([UA, LONGEST], cache, ScriptedLM(["How many United flights?", "Longest flight?"]),
                ScriptedLM([fenced(UA["gold_code"]), fenced("flights.count()")]), sandbox)
    verbalizer, answerer = ScriptedLM([]), ScriptedLM([])  # any call would fail the test
    again = run([UA, LONGEST], cache, verbalizer, answerer, sandbox)
    assert again.tasks == first.tasks and [t["id"] for t in again.tasks] == ["t-ua-nat"]
    assert again.reused == 2 and verbalizer.requests == answerer.requests == []
    assert len(lines(cache)) == 2


def test_a_partial_cache_resumes_after_the_last_whole_line(tmp_path: Path, demo_db,
                                                           sandbox) -> None:
    cache = tmp_path / "c.jsonl"
    run([UA], cache, ScriptedLM([UA["question"]]), ScriptedLM([]), sandbox)
    with cache.open("a") as f:
        f.write('{"key": "torn by a kil')  # a run killed mid-write
    verbalizer = ScriptedLM(["Longest time in the air?"])
    answerer = ScriptedLM([fenced("flights.agg(m=_.air_time.max())")])
    done = run([UA, LONGEST], cache, verbalizer, answerer, sandbox)
    assert done.reused == 1 and len(verbalizer.requests) == 1
    assert LONGEST["question"] in prompt(verbalizer.requests[0])
    assert [line["id"] for line in lines(cache)] == ["t-ua", "t-max"]
    assert [t["id"] for t in done.tasks] == ["t-max-nat"]


def test_another_seed_decides_anew(tmp_path: Path, demo_db, sandbox) -> None:
    cache = tmp_path / "c.jsonl"
    run([UA], cache, ScriptedLM([UA["question"]]), ScriptedLM([]), sandbox, seed=0)
    verbalizer = ScriptedLM([UA["question"]])
    done = run([UA], cache, verbalizer, ScriptedLM([]), sandbox, seed=1)
    assert done.reused == 0 and verbalizer.remaining == 0 and len(lines(cache)) == 2


def test_a_damaged_cache_is_one_error_line(tmp_path: Path, demo_db, sandbox) -> None:
    cache = tmp_path / "c.jsonl"
    cache.write_text('{"key": "k"}\n')
    with pytest.raises(NaturalizeError, match=r"c\.jsonl:1: not a decision") as error:
        run([UA], cache, ScriptedLM([]), ScriptedLM([]), sandbox)
    assert "\n" not in str(error.value)


def test_replies_are_cut_to_the_question() -> None:
    assert clean('**Question:** "Which airline flies most?"\nBecause...') == \
        "Which airline flies most?"
    assert clean("\n  Natural question: how late is UA on average?") == \
        "how late is UA on average?"


def test_the_verbalizer_is_the_1_5b_when_it_is_installed(tmp_path: Path) -> None:
    assert verbalizer_model(tmp_path) == DEFAULT_MODEL
    model = lookup(VERBALIZER)
    model_dir(model, tmp_path).mkdir(parents=True)
    (model_dir(model, tmp_path) / MARKER).write_text(json.dumps(model.marker()))
    assert verbalizer_model(tmp_path) == "qwen2.5-coder-1.5b"


# The command ------------------------------------------------------------------------------------


def command() -> typer.Typer:
    app = typer.Typer()
    app.command()(bootstrap_cli.bootstrap)
    return app


def test_bootstrap_natural_writes_the_kept_tasks_and_a_cache_beside_them(
        tmp_path: Path, monkeypatch, sample_dbs) -> None:
    templates = [t["question"] for t in bootstrap(resolve_db("poker_player"), n=2, seed=5,
                                                   db_name="poker_player", progress=False).tasks]
    # The first rewrite repeats its template; the second is answered back with a program that
    # runs (right or wrong: the file must hold exactly the kept ones).
    lm = ScriptedLM([templates[0], "How many poker players are there in all?",
                     fenced("poker_player.count()")])
    monkeypatch.setattr(bootstrap_cli, "_verbalizer_lm", lambda model: lm)
    out = tmp_path / "tasks.jsonl"
    result = CliRunner().invoke(command(), ["--db", "poker_player", "-n", "2", "--seed", "5",
                                            "-o", str(out), "--natural", "--no-progress"])
    assert result.exit_code == 0, result.output
    decided = lines(cache_path(out))
    assert cache_path(out) == tmp_path / "tasks.naturalize.jsonl"
    assert [d["template"] for d in decided] == templates  # the same seed's tasks
    assert decided[0]["why"] == "unchanged" and decided[1]["why"] != "unchanged"
    assert [d["style"] for d in decided] == [style_for(d["id"], 5) for d in decided]
    assert out.read_text() == "".join(json.dumps(d["task"]) + "\n" for d in decided if d["kept"])
    assert "rewritten questions answered right" in result.output


def test_bootstrap_natural_with_a_missing_model_fails_before_any_work(
        tmp_path: Path, monkeypatch) -> None:
    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("bootstrapped before the model was checked")

    monkeypatch.setattr(finetune.bootstrap, "bootstrap", never)
    out = tmp_path / "tasks.jsonl"
    result = CliRunner().invoke(command(), ["-o", str(out), "--natural",
                                            "--verbalizer", str(tmp_path / "no-model")])
    assert isinstance(result.exception, DevstarlError) and "no-model" in str(result.exception)
    assert not out.exists()


# The real model ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_naturalize_on_the_default_model(tmp_path: Path, demo_db, default_model,
                                         sandbox) -> None:
    found = bootstrap(demo_db, n=20, seed=0, db_name="demo", sandbox=sandbox, progress=False)
    easy = [t for t in found.tasks if t["difficulty"] == "easy"][:2]
    assert len(easy) == 2
    lm = make_lm(LMConfig(max_tokens=128, cache=False))
    cache = tmp_path / "tasks.naturalize.jsonl"
    config = AgentConfig(rounds=0)
    done = naturalize(easy, cache, lm, agent_config=config, sandbox=sandbox, progress=False)

    decided = lines(cache)
    assert [d["id"] for d in decided] == [t["id"] for t in easy]
    assert [d["style"] for d in decided] == [style_for(t["id"], 0) for t in easy]
    judge = Judge(sandbox)
    for d, t in zip(decided, easy, strict=True):
        assert d["why"] in ("matched", "wrong result", "not verified", "unchanged", "empty")
        assert d["kept"] == (d["why"] == "matched") and d["template"] == t["question"]
        if d["kept"]:
            assert normalized(d["question"]) != normalized(t["question"])
            assert judge.correct(d["code"], t["id"], t["gold_code"], demo_db, t["ordered"])
            assert d["task"]["question"] == d["question"]
    assert done.tasks == [d["task"] for d in decided if d["kept"]]
    if done.tasks:
        write_tasks(done.tasks, tmp_path / "natural.jsonl")
        assert [t.question for t in load_tasks(tmp_path / "natural.jsonl")] == \
            [t["question"] for t in done.tasks]
    again = naturalize(easy, cache, lm, agent_config=config, sandbox=sandbox, progress=False)
    assert again.reused == 2 and again.tasks == done.tasks
