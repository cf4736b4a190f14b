"""Natural questions for bootstrapped tasks (issue 14): an LM rewrites each template question
the way a person would ask it, and the rewrite is kept only when it survives back-translation.

For each verified task (template question, gold program, database):
1. a style is drawn with a generator seeded by the seed and the task id (terse, conversational,
   or everyday synonyms for column names), so the same seed gives the same styles and prompts
   whatever else is in the run;
2. the verbalizer LM sees the template question, the program and the first rows of its result,
   and writes the question in that style;
3. the pipeline (`IbisAgent`, on the answering LM) answers the rewrite, and the shared EX judge
   (`harness.judge.Judge`) compares its program's result with the gold program's.

Only rewrites whose answer matches are kept. A task whose rewrite fails is dropped, not given
back its template question: a failed check cannot tell a rewrite that changed the meaning from
a question the answering model could not answer, and the template tasks are there anyway (a
plain bootstrap with the same seed gives them again).

Every decision is appended to a JSONL cache (flushed and fsynced) as soon as it is made; a
rerun with the same tasks, seed and models skips those already decided, so a killed run loses
at most the task in flight (a torn last line is cut off on resume).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dspy
from tqdm import tqdm

from agents.adapter import OPENING_FENCE, CodeAdapter
from agents.config import AgentConfig
from agents.lm import DEFAULT_MODEL
from agents.lm.catalogue import is_installed, lookup
from agents.pipeline import IbisAgent
from agents.shots import normalized
from harness.judge import Judge
from harness.tasks import resolve_db
from tools.calls import render_preview
from tools.errors import DevstarlError
from tools.jsonl import json_lines
from tools.sandbox import Sandbox, default_sandbox
from tools.schema import inspect

VERBALIZER = "qwen2.5-coder-1.5b"  # the strongest catalogue model, when installed
STYLES = {
    "terse": "terse, as typed into a search box: a few words, no greeting, no filler",
    "conversational": "conversational, as a colleague would ask it aloud, in one full sentence",
    "synonyms": "in everyday words: say what each column means instead of repeating its name "
                "(e.g. 'how late' for a delay, 'born' for a birth date)",
}
RESULT_ROWS = 5  # rows of the gold result the verbalizer sees
MAX_TOKENS = 64  # a question is one line


class NaturalizeError(DevstarlError):
    """A naturalize cache file that cannot be read or written."""


class Naturalize(dspy.Signature):
    """Rewrite a question about a database the way a person would ask it, in the given style.
    The program answers the question and its result is shown: the rewrite must ask for exactly
    that result. Keep every value, number, filter, grouping, order, limit and tie-break; write
    no code and no column identifiers."""

    question: str = dspy.InputField(desc="the question, written from a template")
    code: str = dspy.InputField(desc="the Ibis program that answers it")
    result: str = dspy.InputField(desc="the program's result: its size, columns and first rows")
    style: str = dspy.InputField(desc="how to phrase the rewrite")
    natural_question: str = dspy.OutputField(desc="the rewritten question, on one line")


@dataclass
class Rewrite:
    """One task's decision: a line of the cache."""

    key: str  # the task and the settings it was decided under (`cache_key`)
    id: str  # the template task's id
    style: str
    template: str
    question: str  # the rewrite ("" when the verbalizer wrote none)
    kept: bool
    why: str  # "matched", or why it was dropped
    code: str | None = None  # the program the pipeline answered the rewrite with
    seconds: float = 0.0
    task: dict[str, Any] | None = None  # the natural task, when kept


@dataclass
class Naturalized:
    tasks: list[dict[str, Any]]  # the kept natural tasks, in the order of the input
    rewrites: list[Rewrite]  # every task's decision, cached ones included
    reused: int  # decisions taken from the cache
    seconds: float
    reasons: Counter = field(default_factory=Counter)  # why rewrites were dropped


def verbalizer_model(root: Path | None = None) -> str:
    """The model to phrase questions with: the 1.5B when installed, else the default."""
    return VERBALIZER if is_installed(lookup(VERBALIZER), root) else DEFAULT_MODEL


def cache_path(output: Path) -> Path:
    """The cache beside a task file: tasks.jsonl -> tasks.naturalize.jsonl."""
    return Path(output).with_suffix(".naturalize.jsonl")


def style_for(task_id: str, seed: int) -> str:
    """The task's style; a string seed hashes the same in every process."""
    return random.Random(f"{seed}/{task_id}").choice(sorted(STYLES))


def cache_key(task: dict[str, Any], seed: int, lm: dspy.LM, answer_lm: dspy.LM,
              agent_config: AgentConfig) -> str:
    """What a decision depends on: another seed, model or pipeline setting decides anew."""
    parts = [task["id"], task["db"], task["question"], task["gold_code"], task.get("ordered"),
             seed, lm.model, answer_lm.model, agent_config.hash]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def naturalize(
    tasks: Iterable[dict[str, Any]],
    cache: Path,
    lm: dspy.LM,
    answer_lm: dspy.LM | None = None,
    seed: int = 0,
    agent_config: AgentConfig | None = None,
    sandbox: Sandbox | None = None,
    progress: bool = True,
) -> Naturalized:
    """Rewrite each task's question with `lm`, answer it back with `answer_lm` (default `lm`)
    through the pipeline, and keep the rewrites whose answer matches the gold result.

    `tasks` are task records with a gold program (`finetune.bootstrap` output); a kept one comes
    back with the rewrite as its question, `-nat` after its id, and `+natural:<style>
    +backtranslated` after its source. Decisions go to `cache` (see the module docstring)."""
    started = time.perf_counter()
    tasks = list(tasks)
    answer_lm = answer_lm or lm
    agent_config = agent_config or AgentConfig()
    box = sandbox or default_sandbox()
    checker = _Checker(lm, answer_lm, agent_config, box)
    cached = read_cache(cache)
    keys = [cache_key(t, seed, lm, answer_lm, agent_config) for t in tasks]
    reused = sum(k in cached for k in keys)
    decided: dict[str, Rewrite] = {}
    bar = tqdm(total=len(tasks), initial=reused, desc="naturalize", unit="task",
               disable=not progress)
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        with cache.open("a", encoding="utf-8") as out:
            for task, key in zip(tasks, keys, strict=True):
                if key in cached:
                    decided[key] = cached[key]
                    continue
                decided[key] = checker.decide(task, key, style_for(task["id"], seed))
                _append(out, decided[key], cache)
                bar.set_postfix(kept=sum(r.kept for r in decided.values()), refresh=False)
                bar.update(1)
    finally:
        bar.close()
    rewrites = [decided[k] for k in keys]
    return Naturalized(
        tasks=[r.task for r in rewrites if r.kept and r.task is not None], rewrites=rewrites,
        reused=reused, seconds=time.perf_counter() - started,
        reasons=Counter(r.why for r in rewrites if not r.kept))


class _Checker:
    """Rewrites one task and answers the rewrite back."""

    def __init__(self, lm: dspy.LM, answer_lm: dspy.LM, agent_config: AgentConfig,
                 sandbox: Sandbox) -> None:
        self.lm, self.answer_lm, self.agent_config = lm, answer_lm, agent_config
        self.sandbox = sandbox
        self.judge = Judge(sandbox)
        self.verbalize = dspy.Predict(Naturalize)
        self.agents: dict[str, IbisAgent] = {}

    def decide(self, task: dict[str, Any], key: str, style: str) -> Rewrite:
        start = time.perf_counter()
        rewrite = Rewrite(key=key, id=task["id"], style=style, template=task["question"],
                          question="", kept=False, why="")
        agent = self.agent(task["db"])
        gold = self.judge.gold(task["id"], task["gold_code"], agent.db)
        if not gold.ok:
            rewrite.why = "gold failed"
        else:
            rewrite.question = self.rewrite(task, gold, style)
            if not rewrite.question:
                rewrite.why = "empty"
            elif normalized(rewrite.question) == normalized(task["question"]):
                rewrite.why = "unchanged"
            else:
                self.answer(task, agent, rewrite)
        rewrite.seconds = round(time.perf_counter() - start, 3)
        return rewrite

    def rewrite(self, task: dict[str, Any], gold: Any, style: str) -> str:
        shown = {**gold.preview, "rows": gold.preview["rows"][:RESULT_ROWS]}
        config = {"max_tokens": MAX_TOKENS, "stop": [OPENING_FENCE]}
        with dspy.context(adapter=CodeAdapter()):
            prediction = self.verbalize(
                question=task["question"], code=task["gold_code"],
                result=render_preview(shown, gold.rows), style=STYLES[style], lm=self.lm,
                config=config)
        return clean(prediction.natural_question)

    def answer(self, task: dict[str, Any], agent: IbisAgent, rewrite: Rewrite) -> None:
        """Back-translation: the pipeline answers the rewrite; EX against the gold decides."""

        def check(code: str) -> bool | None:
            return self.judge.correct(code, task["id"], task["gold_code"], agent.db,
                                      bool(task.get("ordered")))

        prediction = agent(question=rewrite.question, task_id=task["id"], check=check)
        rewrite.code = prediction.code
        if prediction.trace.correct:
            rewrite.kept, rewrite.why = True, "matched"
            source = f"{task.get('source') or 'bootstrap'}+natural:{rewrite.style}+backtranslated"
            rewrite.task = {**task, "id": f"{task['id']}-nat", "question": rewrite.question,
                            "source": source}
        else:
            rewrite.why = "wrong result" if prediction.verified else "not verified"

    def agent(self, db_name: str) -> IbisAgent:
        # No trace store: these runs are checks, and their traces must not pass for the
        # user's own verified work when `learn` collects training data.
        if db_name not in self.agents:
            db = resolve_db(db_name)
            agent = IbisAgent(db, inspect(db), self.agent_config, sandbox=self.sandbox,
                              model=str(self.answer_lm.model))
            agent.set_lm(self.answer_lm)
            self.agents[db_name] = agent
        return self.agents[db_name]


def clean(text: str) -> str:
    """The first non-empty line of a reply, without a label or quotes around it."""
    line = next((x.strip() for x in str(text).splitlines() if x.strip()), "")
    line = re.sub(r"^[*_\s]*(?:natural |rewritten )?question[*_\s]*:[*_\s]*", "", line,
                  flags=re.IGNORECASE)
    return line.strip().strip("\"'“”`").strip()


# The cache --------------------------------------------------------------------------------------


def read_cache(path: Path) -> dict[str, Rewrite]:
    """The decisions in `path` by key; a torn last line (a killed write) is cut off first."""
    if not path.exists():
        return {}
    try:
        data = path.read_bytes()
        good = data.rfind(b"\n") + 1
        if good < len(data):
            with path.open("r+b") as f:
                f.truncate(good)
    except OSError as e:
        raise NaturalizeError(f"cannot read naturalize cache {path}: {e.strerror or e}") from e
    found: dict[str, Rewrite] = {}
    for number, value in json_lines(path, NaturalizeError, "naturalize cache", "a decision"):
        try:
            rewrite = Rewrite(**value)
        except TypeError as e:
            raise NaturalizeError(f"{path}:{number}: not a decision ({e})") from e
        found[rewrite.key] = rewrite
    return found


def _append(out: Any, rewrite: Rewrite, path: Path) -> None:
    try:
        out.write(json.dumps(asdict(rewrite), ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())
    except OSError as e:
        raise NaturalizeError(f"cannot write naturalize cache {path}: {e.strerror or e}") from e
