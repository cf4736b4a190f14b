"""Batch synthesis: the ask pipeline over a task file, concurrent and resumable.

Results are appended one JSON line per task, flushed and fsynced as each task ends, so a killed
run loses nothing it wrote; a re-run skips the task ids already there (a torn last line is cut
off first), so every task ends up in the file exactly once. Under `tools.stopping` (the CLI) a
Ctrl-C or SIGTERM freezes the file between two lines and abandons the tasks in flight.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy
from dspy.utils.exceptions import LMTransportError
from tqdm import tqdm

from agents.config import AgentConfig, ConfigError, check_types
from agents.lm import LMConfig, LMUnavailable, check_server
from agents.pipeline import IbisAgent
from agents.session import build_agent
from agents.traces import TraceStore
from harness.evaluate import Sample, TaskResult
from harness.judge import Judge
from harness.tasks import Task, resolve_db
from harness.tracking import NullTracker, Tracker
from tools.errors import DevstarlError
from tools.sandbox import Sandbox
from tools.stopping import on_stop, stopping


@dataclass(frozen=True)
class SynthConfig:
    workers: int = field(default=1, metadata={"help": "tasks run at once (each its own sandbox)"})
    samples: int = field(default=1, metadata={"help": "answers per task, for pass@k"})
    temperature: float = field(
        default=0.8, metadata={"help": "sampling temperature when samples > 1"}
    )
    server_wait: float = field(
        default=600.0, metadata={"help": "seconds to wait for a model server that stopped "
                                         "answering (a restart) before the run fails"}
    )

    def __post_init__(self) -> None:
        check_types(self)
        if not 1 <= self.workers <= 64 or not 1 <= self.samples <= 100:
            raise ConfigError(f"workers must be 1-64 and samples 1-100, got {self.workers} and "
                              f"{self.samples}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be 0-2, got {self.temperature}")


def read_results(path: Path) -> dict[str, TaskResult]:
    """The results already in `path`, by task id; cuts off a torn last line."""
    if not path.exists():
        return {}
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DevstarlError(f"cannot read results file {path}: {e.strerror or e}") from None
    good = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
    results: dict[str, TaskResult] = {}
    offset = 0
    for line in data[:good].splitlines(keepends=True):
        try:
            result = TaskResult.from_dict(json.loads(line))
        except (ValueError, TypeError, KeyError, RecursionError):
            good = offset  # a damaged line: drop it and everything after
            break
        results.setdefault(result.task_id, result)
        offset += len(line)
    if good < len(data):
        with path.open("r+b") as f:
            f.truncate(good)
    return results


class ResultWriter:
    """Appends results durably, one line each, from any thread, until frozen or closed.

    `saved` and `total` count this run's tasks (those already in the file included), for the
    line a stop prints."""

    def __init__(self, path: Path, saved: int = 0, total: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.saved, self.total = path, saved, total
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._open = True

    def write(self, result: TaskResult) -> bool:
        """Append `result`; False (nothing written) once frozen or closed."""
        line = json.dumps(result.to_dict(), ensure_ascii=False) + "\n"
        with self._lock:
            if not self._open:
                return False
            start = self._file.tell()
            try:
                self._file.write(line)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as e:  # a full disk, say: keep the lines before, drop the torn one
                self._open = False
                _cut(self._file, start)
                raise DevstarlError(f"cannot write results to {self.path}: "
                                    f"{e.strerror or e}; {self.saved} tasks saved before "
                                    "it, a re-run goes on from there") from None
            self.saved += 1
        return True

    def freeze(self) -> str:
        """Take no more results (a stop): let a line being written finish, then say how many
        tasks the file holds. The file stays open: the process is about to exit."""
        # Bounded: a stop must not hang on a slow fsync (a torn line is cut off on resume).
        held = self._lock.acquire(timeout=2.0)
        self._open = False
        if held:
            self._lock.release()
        of = f" of {self.total}" if self.total is not None else ""
        return f"{self.saved}{of} tasks saved in {self.path}"

    def close(self) -> None:
        with self._lock:
            self._open = False
            try:
                self._file.close()
            except OSError:  # the data a failed write left in the buffer: already reported
                pass


def _cut(file: Any, size: int) -> None:
    """Truncate a half-written line back off, if the file system lets us."""
    try:
        file.truncate(size)
    except (OSError, ValueError):
        pass  # the next read_results cuts a torn last line anyway


class Worker:
    """One thread's agents (one per database) sharing the LM, with their own sandbox."""

    def __init__(self, lm: dspy.LM, lm_config: LMConfig, agent_config: AgentConfig,
                 store: TraceStore, program: str | None = None) -> None:
        self.lm, self.lm_config, self.agent_config, self.store = lm, lm_config, agent_config, store
        self.program = program
        self.sandbox = Sandbox()
        self.judge = Judge(self.sandbox)
        self.agents: dict[str, IbisAgent] = {}

    def agent(self, db_name: str) -> IbisAgent:
        if db_name not in self.agents:
            self.agents[db_name] = build_agent(resolve_db(db_name), self.lm_config,
                                               self.agent_config, store=self.store, lm=self.lm,
                                               sandbox=self.sandbox, program=self.program)
        return self.agents[db_name]

    def run(self, task: Task, config: SynthConfig) -> TaskResult:
        """Answer `task`; a model server that stops answering is waited for and the task
        run again from its start (the response cache replays what was already answered)."""
        while True:
            try:
                return self._run(task, config)
            except LMTransportError as e:
                if self.lm_config.backend != "server":
                    raise
                wait_for_server(self.lm_config, config.server_wait, e)

    def _run(self, task: Task, config: SynthConfig) -> TaskResult:
        agent = self.agent(task.db)
        judge = self._judge(task, agent) if task.gold_code else None
        samples = []
        for i in range(config.samples):
            start = time.perf_counter()
            prediction = agent(question=task.question, task_id=task.id, check=judge,
                               temperature=None if config.samples == 1 else config.temperature,
                               sample=i)
            samples.append(sample_of(prediction, time.perf_counter() - start))
        return TaskResult(task_id=task.id, db=task.db, question=task.question,
                          difficulty=task.difficulty, ordered=task.ordered, samples=samples)

    def _judge(self, task: Task, agent: IbisAgent) -> Callable[[str], bool | None]:
        """EX of a verified program against the task's gold result (None: the gold failed)."""
        return lambda code: self.judge.correct(code, task.id, task.gold_code, agent.db,
                                               task.ordered)

    def close(self) -> None:
        self.sandbox.close()


def wait_for_server(lm_config: LMConfig, wait_s: float, error: Exception) -> None:
    """Poll the model server until it answers again; `LMUnavailable` after `wait_s` seconds.
    One line on stderr when the wait starts and one when it ends."""
    url = lm_config.api_base
    print(f"the LM server at {url} stopped answering ({error}); waiting up to {wait_s:g} s",
          file=sys.stderr, flush=True)
    deadline = time.monotonic() + wait_s
    pause = 1.0
    while not stopping():
        try:
            check_server(url, timeout=min(5.0, wait_s), api_key=lm_config.api_key)
        except LMUnavailable:
            if time.monotonic() + pause > deadline:
                raise LMUnavailable(f"the LM server at {url} did not come back within "
                                    f"{wait_s:g} s") from None
            time.sleep(pause)
            pause = min(pause * 2, 10.0)
            continue
        print(f"the LM server at {url} answers again; going on", file=sys.stderr, flush=True)
        return
    raise LMUnavailable("stopped while waiting for the LM server")


def sample_of(prediction: dspy.Prediction, seconds: float) -> Sample:
    trace = prediction.trace
    kind = prediction.attempt.result.kind
    rounds = sum(step.name == "revise" for step in trace.steps)
    correct = trace.correct
    return Sample(
        code=prediction.code, sql=prediction.sql,
        compiled=kind not in ("compile_error", "rejected"), executed=bool(trace.verified),
        correct=correct, rounds=rounds, first_try=bool(correct) and rounds == 0,
        seconds=seconds, tokens=trace.tokens, error=prediction.answer.get("error"),
        trace_id=trace.trace_id,
    )


def synthesize(
    tasks: Iterable[Task],
    out: Path,
    lm: dspy.LM,
    lm_config: LMConfig,
    agent_config: AgentConfig,
    config: SynthConfig,
    tracker: Tracker | None = None,
    store: TraceStore | None = None,
    progress: bool = True,
    program: str | None = None,
) -> list[TaskResult]:
    """Run every task not yet in `out`; return all results in task order. `program`: an
    optimized program file, "none", or None for each database's registered one."""
    tasks = list(tasks)
    tracker = tracker or NullTracker()
    store = store or TraceStore()
    done = read_results(out)
    todo = [t for t in tasks if t.id not in done]
    writer = ResultWriter(out, saved=len(tasks) - len(todo), total=len(tasks))
    forget = on_stop(writer.freeze)
    local = threading.local()
    workers: list[Worker] = []
    lock = threading.Lock()

    def run(task: Task) -> TaskResult | None:
        if stopping():  # a stop is under way: start nothing (no new sandbox either)
            return None
        if not hasattr(local, "worker"):
            local.worker = Worker(lm, lm_config, agent_config, store, program)
            with lock:
                workers.append(local.worker)
        result = local.worker.run(task, config)
        return result if writer.write(result) else None

    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="tasks", unit="task",
               disable=not progress)
    pool = ThreadPoolExecutor(max_workers=config.workers)
    try:
        pending = {pool.submit(run, t) for t in todo}
        while pending:
            # Woken twice a second even with nothing done: a signal the kernel handed to a
            # worker thread is only acted on when the main thread runs (tools.stopping).
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                if result is None:  # not run, or not kept: the run is stopping
                    continue
                done[result.task_id] = result
                first = result.samples[0]
                tracker.log({"task/correct": float(bool(first.correct)),
                             "task/verified": float(first.executed),
                             "task/seconds": first.seconds})
                bar.update(1)
    finally:
        # When this unwinds (a KeyboardInterrupt where tools.stopping is not installed) the
        # queued tasks are dropped, not run; those running finish in their threads.
        pool.shutdown(wait=False, cancel_futures=True)
        forget()
        bar.close()
        writer.close()
        for worker in workers:
            worker.close()
    return [done[t.id] for t in tasks if t.id in done]


def run_record(results: list[TaskResult]) -> list[list[Any]]:
    """Per-task rows for the tracker's table."""
    return [[r.task_id, r.difficulty, r.question, s.correct, s.executed, s.rounds, s.seconds,
             s.code] for r in results for s in r.samples[:1]]
