"""Questions run on worker threads behind a bounded queue, so the page and the API stay
responsive while the model works, and a burst past capacity is refused rather than piled up.

The LM is shared (a local engine serializes generation with its own lock, so questions take
turns per model call, not per question); each worker thread has its own sandbox and agents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import dspy

from agents.config import AgentConfig
from agents.lm import LMConfig
from agents.pipeline import IbisAgent
from agents.session import build_agent
from agents.traces import Step, TraceStore, watch_steps
from service.answers import answer_record
from service.catalog import Catalog, Entry
from service.errors import BadInput, Busy
from tools.calls import execute, execute_on_sample
from tools.errors import DevstarlError
from tools.records import ToolResult
from tools.sandbox import Sandbox

MAX_QUESTION = 2000  # characters; the longest hand-written task question is under 200
MAX_CODE = 20_000


class Asker:
    """Runs `agent(question)` for any database of `catalog` on `workers` threads, with at most
    `queue` more questions waiting; `submit` raises Busy past that."""

    def __init__(self, catalog: Catalog, lm: dspy.LM, lm_config: LMConfig,
                 agent_config: AgentConfig | None = None, store: TraceStore | None = None,
                 workers: int = 2, queue: int = 8, program: str | None = None) -> None:
        if not 1 <= workers <= 32 or not 0 <= queue <= 1000:
            raise DevstarlError(f"workers must be 1-32 and queue 0-1000, got {workers} and "
                                f"{queue}")
        self.catalog, self.lm, self.lm_config = catalog, lm, lm_config
        self.agent_config = agent_config or AgentConfig()
        self.store = store or TraceStore()
        self.program = program
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ask")
        self._local = threading.local()
        self._sandboxes: list[Sandbox] = []
        self._lock = threading.Lock()
        self._tool_sandbox = Sandbox()  # run_ibis: never waits behind a question's tools
        if self.agent_config.shots_k > 0:
            from finetune.shots import ensure_shots

            for name in catalog.names:
                ensure_shots(catalog.get(name).database)

    def submit(self, db: str | None, question: str,
               on_step: Callable[[Step], None] | None = None) -> Future[dict[str, Any]]:
        """Queue a question; the future's result is the answer record. `on_step(step)` is
        called on the worker thread as each step of the run is appended to its trace."""
        question = check_question(question)
        entry = self.catalog.get(db)
        if not self._slots.acquire(blocking=False):
            raise Busy(f"busy: {self.capacity} questions are running or waiting, the most "
                       "this service takes; try again shortly")
        try:
            future = self._pool.submit(self._run, entry, question, on_step)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def run_ibis(self, code: str, db: str | None, full: bool = False) -> ToolResult:
        """A program through the sandbox: on the database's sample, or on all of it."""
        if not code.strip():
            raise BadInput("empty program")
        if len(code) > MAX_CODE:
            raise BadInput(f"program too long: {len(code):,} characters (at most {MAX_CODE:,})")
        database = self.catalog.get(db).database
        if full:
            return execute(code, database, sandbox=self._tool_sandbox, max_rows=20)
        return execute_on_sample(code, database, sandbox=self._tool_sandbox)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for sandbox in [*self._sandboxes, self._tool_sandbox]:
                sandbox.close()

    def _run(self, entry: Entry, question: str,
             on_step: Callable[[Step], None] | None) -> dict[str, Any]:
        agent = self._agent(entry)
        with watch_steps(on_step) if on_step else nullcontext():
            return answer_record(agent(question=question))

    def _agent(self, entry: Entry) -> IbisAgent:
        if not hasattr(self._local, "agents"):
            self._local.agents, self._local.sandbox = {}, Sandbox()
            with self._lock:
                self._sandboxes.append(self._local.sandbox)
        name = entry.database.name
        if name not in self._local.agents:
            self._local.agents[name] = build_agent(
                entry.database, self.lm_config, self.agent_config, store=self.store, lm=self.lm,
                sandbox=self._local.sandbox, program=self.program)
        return self._local.agents[name]


def check_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise BadInput("empty question")
    if len(question) > MAX_QUESTION:
        raise BadInput(f"question too long: {len(question):,} characters "
                       f"(at most {MAX_QUESTION:,})")
    return question
