"""Training data: verified tasks and confirmed traces as chat examples, in the exact format the
pipeline prompts with (the same agent builds the inputs, the same adapter formats them).

Nothing from a test split ever gets in: tasks go through `training_tasks`, and every example's
question is checked against the test split of every known task set, by id and by text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.adapter import CodeAdapter
from agents.config import AgentConfig
from agents.pipeline import IbisAgent, fingerprint
from agents.shots import load_bank
from agents.signatures import DraftIbis, Revise
from agents.traces import Trace
from harness.tasks import Task, load_tasks, resolve_db, training_tasks
from tools.errors import DevstarlError
from tools.jsonl import json_lines
from tools.records import ToolResult
from tools.schema import inspect

TASK_SETS = Path(__file__).resolve().parents[1] / "bench" / "tasks"


class SplitLeak(DevstarlError):
    """A test-split task was about to become training data."""


@dataclass(frozen=True)
class Example:
    """One chat example: the prompt messages and the assistant's reply, plus where it came from."""

    messages: list[dict[str, str]]
    source: str  # "task:<id>" or "trace:<id>"
    question: str

    def to_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "source": self.source, "question": self.question}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Example:
        return cls(data["messages"], data["source"], data["question"])


def normalize(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", question.lower()).strip()


def held_out(folder: Path = TASK_SETS) -> tuple[set[str], set[str]]:
    """Ids and normalized questions of every test-split task in the project's task sets."""
    ids, questions = set(), set()
    for path in sorted(folder.glob("*.jsonl")):
        for task in load_tasks(path):
            if task.split == "test":
                ids.add(task.id)
                questions.add(normalize(task.question))
    return ids, questions


def task_examples(tasks: Iterable[Task], config: AgentConfig | None = None) -> list[Example]:
    """Draft examples from tasks with gold programs (test-split tasks are dropped first),
    prompted as an agent with `config` (docs, linking) would prompt."""
    agents: dict[str, IbisAgent] = {}
    examples = []
    adapter = CodeAdapter()
    for task in training_tasks(list(tasks)):
        if not task.gold_code:
            continue
        if task.db not in agents:
            db = resolve_db(task.db)
            schema = inspect(db)
            # the prompts `ask` builds: with the database's bank of examples when it has one
            settings = config or AgentConfig()
            agents[task.db] = IbisAgent(db, schema, settings, shots=load_bank(db.name, schema)
                                        if settings.shots_k else None)
        inputs = agents[task.db].draft_inputs(task.question)
        chat = adapter.format_finetune_data(DraftIbis, [], inputs, {"code": task.gold_code})
        examples.append(Example(chat["messages"], f"task:{task.id}", task.question))
    return examples


def confirmed(trace: Trace, rating: str | None = None) -> bool:
    """Whether a trace may teach: it is verified (compiled and ran) and its result was
    confirmed, by matching gold (`correct`), by the person who asked (`rating`, their latest
    verdict, "up"), or by a vote that at least two different programs agreed on. A result a
    person marked "down", or that gold found wrong, never teaches: a verified program can
    still answer another question than the one asked."""
    if not trace.verified or not trace.final_code or trace.correct is False or rating == "down":
        return False
    return trace.correct is True or rating == "up" or agreed(trace) >= 2


def agreed(trace: Trace) -> int:
    """How many different programs' sample results agreed with the final program's, when a
    vote chose it; 0 without such a vote. The same program sampled twice counts once: its
    two runs are not independent evidence."""
    final = trace.final_code
    if not any(s.name == "vote" and s.outputs.get("code") == final for s in trace.steps):
        return 0
    results = {s.inputs.get("code"): fingerprint(ToolResult.from_dict(s.tool_result))
               for s in trace.steps
               if s.name == "execute_on_sample" and s.tool_result and s.tool_result.get("ok")}
    if final not in results:
        return 0
    return sum(1 for result in results.values() if result == results[final])


def training_traces(traces: Iterable[Trace]) -> list[Trace]:
    """The traces that may teach: not those of a test-split task, by id or by question (a
    benchmark run over the test split records its traces like any other run)."""
    ids, questions = held_out()
    return [t for t in traces
            if t.task_id not in ids and normalize(t.question) not in questions]


def trace_examples(traces: Iterable[Trace], ratings: Mapping[str, str] | None = None
                   ) -> list[Example]:
    """From confirmed traces (`confirmed`; `ratings` holds each rated trace's latest verdict):
    the draft prompt with the final program, and each revise prompt (the failing program and
    its error) that led to it with the program as fixed."""
    adapter = CodeAdapter()
    examples = []
    for trace in traces:
        if not confirmed(trace, (ratings or {}).get(trace.trace_id)):
            continue
        draft = adapter.format_assistant_message_content(DraftIbis, {"code": trace.final_code})
        repair = adapter.format_assistant_message_content(Revise,
                                                          {"fixed_code": trace.final_code})
        for i, step in enumerate(trace.steps):
            if step.name == "draft" and step.messages:
                reply = draft
            elif step.name == "revise" and step.messages and _fixed(trace, i):
                reply = repair
            else:
                continue
            messages = [*step.messages, {"role": "assistant", "content": reply}]
            examples.append(Example(messages, f"trace:{trace.trace_id}", trace.question))
    return examples


def _fixed(trace: Trace, i: int) -> bool:
    """Whether the revision at step `i` led to the final program: the next program checked
    is it. Compared after the pipeline tidied it (`agents.tidy`), as the model's raw reply
    often differs from the program that ran by an import or a `.execute()`."""
    checked = next((s for s in trace.steps[i + 1:] if s.name == "compile"), None)
    return checked is not None and checked.inputs.get("code") == trace.final_code


def guard(examples: list[Example], trace_task_ids: dict[str, str | None] | None = None
          ) -> list[Example]:
    """Drop nothing silently: raise if any example comes from the test split."""
    ids, questions = held_out()
    for ex in examples:
        task_id = ex.source.removeprefix("task:") if ex.source.startswith("task:") else (
            (trace_task_ids or {}).get(ex.source.removeprefix("trace:")))
        if task_id in ids or normalize(ex.question) in questions:
            raise SplitLeak(f"example from {ex.source} is a test-split question: {ex.question!r}")
    return examples


def dedupe(examples: Iterable[Example]) -> list[Example]:
    seen, kept = set(), []
    for ex in examples:
        key = json.dumps(ex.messages, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(ex)
    return kept


def data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for key in sorted(json.dumps(ex.messages, sort_keys=True) for ex in examples):
        digest.update(key.encode())
    return digest.hexdigest()[:16]


def write_examples(examples: list[Example], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n"
                            for ex in examples))


def read_examples(path: Path) -> list[Example]:
    """The examples of a file `write_examples` wrote; DevstarlError, one line naming the file
    and the line, when it is not one."""
    examples = []
    for number, row in json_lines(path, DevstarlError, "training examples file",
                                  "a training example"):
        if (why := _example_problem(row)) is not None:
            raise DevstarlError(f"{path}:{number}: not a training example ({why})")
        examples.append(Example.from_dict(row))
    return examples


def _example_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    for name in ("source", "question"):
        if not isinstance(row.get(name), str):
            return f'field "{name}" must be a string'
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return 'field "messages" must be a non-empty array'
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str)
               and isinstance(m.get("content"), str) for m in messages):
        return 'field "messages" must hold objects with "role" and "content" strings'
    return None
