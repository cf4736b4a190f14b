"""Prompt optimization with a scripted LM: demos bootstrapped from verified runs, EX as the
metric, the test split refused, programs saved as JSON that reload and reproduce their score."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import dspy
import pytest
from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

from agents.config import AgentConfig
from agents.lm import request_messages
from agents.programs import (
    ProgramError,
    load_program,
    read_program,
    register_program,
    registered_program,
    save_program,
)
from agents.session import build_agent
from agents.traces import TraceStore
from harness.judge import Judge
from harness.optimize import OptimizeConfig, OptimizeError, ex_metric, optimize, score, to_examples
from harness.tasks import Task, load_tasks
from harness.tracking import NullTracker

TASKS = Path(__file__).resolve().parents[2] / "bench" / "tasks" / "nycflights13.jsonl"


class FewShotEngine:
    """Answers a question with its gold program only when the prompt carries demos (a model that
    few-shot examples help); without demos, a program that runs but is wrong."""

    def __init__(self, gold: dict[str, str], always: set[str]) -> None:
        self.gold, self.always = gold, always

    def complete(self, request):  # noqa: ANN001, ANN201 - dspy.lm15 types
        users = [m for m in request.messages if m.role == "user"]
        last = "".join(getattr(p, "text", "") for p in users[-1].parts)
        question = next((q for q in self.gold if q in last), None)
        helped = len(users) > 1 or question in self.always
        code = self.gold[question] if question and helped else "airlines.limit(1)"
        text = f"```python\n{code}\n```"
        return Response(id=None, model="few-shot", message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=0, output_tokens=5,
                                                          total_tokens=5))

    def stream(self, request):  # noqa: ANN001, ANN201
        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


MAGIC = "Answer with the program the question's own gold answer uses."


def _reply(text: str) -> Response:
    return Response(id=None, model="scripted", message=Message.assistant([TextPart(text)]),
                    finish_reason="stop", usage=Usage(input_tokens=0, output_tokens=5,
                                                      total_tokens=5))


class InstructedEngine(FewShotEngine):
    """A task model that better instructions help: the gold program when the module's
    instruction carries MAGIC, else a program that runs but is wrong."""

    def complete(self, request):  # noqa: ANN001, ANN201
        messages = request_messages(request)
        system = " ".join(m["content"] for m in messages if m["role"] == "system")
        question = next((q for q in self.gold if q in messages[-1]["content"]), None)
        code = self.gold[question] if question and MAGIC in system else "airlines.limit(1)"
        return _reply(f"```python\n{code}\n```")


class ProposerEngine(FewShotEngine):
    """A scripted prompt model: every output field a DSPy signature asks for (MIPROv2's
    proposer, GEPA's instruction proposer) holds MAGIC, in the adapter's format."""

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, request):  # noqa: ANN001, ANN201
        self.calls += 1
        text = " ".join(m["content"] for m in request_messages(request))
        listed = text[text.find("Your output fields are:"):text.find("All interactions")]
        outputs = re.findall(r"\d+\. `(\w+)`", listed)
        if "Respond with a JSON object" in text:
            return _reply(json.dumps(dict.fromkeys(outputs, MAGIC)))
        body = "".join(f"[[ ## {f} ## ]]\n{MAGIC}\n\n" for f in outputs)
        return _reply(body + "[[ ## completed ## ]]")


@pytest.fixture(scope="module")
def tasks() -> tuple[list[Task], list[Task]]:
    all_tasks = load_tasks(TASKS)
    train = [t for t in all_tasks if t.split == "train"][:3]
    dev = [t for t in all_tasks if t.split == "dev"][:2]
    return train, dev


def agent_for(tasks, demo_db, sandbox, tmp_path, always=()):
    train, dev = tasks
    gold = {t.question: t.gold_code for t in train + dev}
    lm = dspy.LM("local/few-shot", engine=FewShotEngine(gold, {t.question for t in always}),
                 cache=False)
    return build_agent(demo_db, agent_config=AgentConfig(rounds=0), lm=lm, sandbox=sandbox,
                       store=TraceStore(tmp_path / "t.db"), program="none")


def test_bootstrap_collects_verified_demos_and_beats_uncompiled(tasks, demo_db, sandbox,
                                                                 tmp_path) -> None:
    train, dev = tasks
    agent = agent_for(tasks, demo_db, sandbox, tmp_path, always=train)
    compiled, report = optimize(agent, train, dev, OptimizeConfig(max_demos=2), Judge(sandbox),
                                progress=False)
    assert report["dev_ex_before"] == 0.0 and report["dev_ex"] == 1.0
    assert report["demos"]["draft"] == 2 and not agent.draft.demos  # the student is untouched
    demo = compiled.draft.demos[0]
    assert demo["code"] in {t.gold_code for t in train} and "tables" in demo

    # Saved as JSON, reloaded into a fresh agent: the same dev score.
    path = save_program(compiled, tmp_path / "p.json", {"dev_ex": report["dev_ex"]})
    saved = json.loads(path.read_text())
    assert saved["format"] == "devstarl-program/1"
    assert all(module["lm"] is None for module in saved["modules"].values())  # no LM settings
    assert len(saved["modules"]["draft"]["demos"]) == 2
    fresh = agent_for(tasks, demo_db, sandbox, tmp_path)
    load_program(fresh, path)
    assert fresh.draft.lm is not None and len(fresh.draft.demos) == 2
    metric = ex_metric(fresh, Judge(sandbox))
    assert score(fresh, to_examples(dev, "dev"), metric, progress=False) == report["dev_ex"]


@pytest.mark.parametrize("optimizer", ["mipro", "gepa"])
def test_instruction_optimizers_run_end_to_end(optimizer, tasks, demo_db, sandbox,
                                               tmp_path) -> None:
    """MIPROv2 and GEPA with a scripted prompt model: the instruction they write makes the task
    model right, the program keeps it, and the saved program reloads to the same dev EX."""
    train, dev = tasks
    gold = {t.question: t.gold_code for t in train + dev}

    def instructed_agent():
        lm = dspy.LM("local/instructed", engine=InstructedEngine(gold, set()), cache=False)
        return build_agent(demo_db, agent_config=AgentConfig(rounds=0), lm=lm, sandbox=sandbox,
                           store=TraceStore(tmp_path / "t.db"), program="none")

    proposer = ProposerEngine()
    prompt_lm = dspy.LM("local/proposer", engine=proposer, cache=False)
    config = OptimizeConfig(optimizer=optimizer, max_demos=0, candidates=2, trials=4,
                            minibatch=2, metric_calls=24, log_dir=str(tmp_path / "log"))
    tracker = RecordingTracker()
    compiled, report = optimize(instructed_agent(), train, dev, config, Judge(sandbox),
                                prompt_lm=prompt_lm, progress=False, tracker=tracker)
    assert proposer.calls > 0
    assert report["dev_ex_before"] == 0.0 and report["dev_ex"] == 1.0
    assert MAGIC in report["instructions"]["draft"]
    assert report["log"] and tracker.tables[f"{optimizer}_log"] == report["log"]

    path = save_program(compiled, tmp_path / "p.json", report)
    fresh = load_program(instructed_agent(), path)
    assert MAGIC in fresh.draft.signature.instructions
    metric = ex_metric(fresh, Judge(sandbox))
    assert score(fresh, to_examples(dev, "dev"), metric, progress=False) == report["dev_ex"]


class RecordingTracker(NullTracker):
    def __init__(self) -> None:
        self.tables: dict[str, list[list]] = {}

    def table(self, name: str, columns: list[str], rows: list[list]) -> None:
        self.tables[name] = rows


def test_random_search_runs(tasks, demo_db, sandbox, tmp_path) -> None:
    train, dev = tasks
    agent = agent_for(tasks, demo_db, sandbox, tmp_path, always=train)
    compiled, report = optimize(agent, train, dev, OptimizeConfig(
        optimizer="random-search", candidates=1, max_demos=1), Judge(sandbox), progress=False)
    assert report["dev_ex"] == 1.0 and len(compiled.draft.demos) == 1


def test_test_split_and_missing_prompt_model_are_refused(tasks, demo_db, sandbox,
                                                         tmp_path) -> None:
    train, dev = tasks
    test = [t for t in load_tasks(TASKS) if t.split == "test"][:1]
    agent = agent_for(tasks, demo_db, sandbox, tmp_path)
    with pytest.raises(OptimizeError, match="test split"):
        optimize(agent, train + test, dev, OptimizeConfig(), Judge(sandbox), progress=False)
    with pytest.raises(OptimizeError, match="test split"):
        optimize(agent, train, test, OptimizeConfig(), Judge(sandbox), progress=False)
    for name in ("mipro", "gepa"):
        with pytest.raises(OptimizeError, match=f"{name} needs a prompt model"):
            optimize(agent, train, dev, OptimizeConfig(optimizer=name), Judge(sandbox))
    with pytest.raises(OptimizeError, match="optimizer must be one of"):
        OptimizeConfig(optimizer="magic")


@pytest.mark.parametrize("content,message", [
    ("not json", "is not a program JSON"),
    ("[1, 2]", "is not a DevStarL program"),
    ('{"draft": {"demos": []}}', "is not a DevStarL program"),
    ('{"format": "devstarl-program/1", "modules": {"draft": {}}}', "exactly the modules"),
    ('{"format": "devstarl-program/1", "modules": {"draft": {}, "reflect": {}, "revise": {}}}',
     "needs a demos list"),
])
def test_loading_refuses_what_is_not_a_program(tmp_path: Path, content: str,
                                               message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ProgramError, match=message):
        read_program(path)
    with pytest.raises(ProgramError, match="no program file"):
        read_program(tmp_path / "missing.json")


def test_ask_loads_the_registered_program(tasks, demo_db, sandbox, tmp_path) -> None:
    agent = agent_for(tasks, demo_db, sandbox, tmp_path)
    agent.draft.demos = [dspy.Example(question="q", tables="t", docs="", code="airlines")]
    path = save_program(agent, tmp_path / "p.json", {})
    register_program(demo_db.name, path, {"dev_ex": 1.0})
    assert registered_program(demo_db.name) == path.resolve()
    lm = agent.draft.lm
    loaded = build_agent(demo_db, lm=lm, sandbox=sandbox, store=TraceStore(tmp_path / "t.db"))
    assert len(loaded.draft.demos) == 1 and loaded.program == str(path.resolve())
    bare = build_agent(demo_db, lm=lm, sandbox=sandbox, store=TraceStore(tmp_path / "t.db"),
                       program="none")
    assert bare.draft.demos == [] and bare.program is None
    register_program(demo_db.name, tmp_path / "gone.json", {})  # unregister for other tests


def test_cli_refuses_gepa_without_a_prompt_model(demo_db) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devstarl", "optimize", "--db", "demo", "--train", str(TASKS),
         "--dev", str(TASKS), "--optimizer", "gepa", "--limit", "1"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "gepa needs a prompt model" in lines[0], done.stderr
