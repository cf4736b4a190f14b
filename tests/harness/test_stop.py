"""`devstarl synth` stops at once on SIGINT or SIGTERM (tools.stopping): within 5 s, with the
task in flight abandoned, every finished task in the results file once, exit status 130 or 143,
one line saying so, and no process it started left behind (not even a zombie).

The real-model tests run the default model (llama.cpp) on the demo database with a fresh DSPy
response cache, so no answer comes from the cache and a generation is under way at the signal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.evaluate import TaskResult
from tests.agents.fakes import scripted_server
from tests.processes import Watched, cpu_seconds

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
LIMIT = 6
STOP_WITHIN_S = 5.0
COUNT = "```python\nflights.agg(n_flights=_.count())\n```"


class Synth(Watched):
    """A `devstarl synth` run over the first dev tasks, in its own session."""

    def __init__(self, out: Path, env: dict[str, str], *options: str) -> None:
        self.tmp = out.with_name("tmp")  # its own, to see what it leaves there
        self.tmp.mkdir()
        super().__init__([*DEVSTARL, "synth", str(TASKS), "--split", "dev", "--program", "none",
                          "--limit", str(LIMIT), "-o", str(out), *options],
                         {**env, "TMPDIR": str(self.tmp)}, ROOT, out.with_name("stderr.txt"))
        self.out = out

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines() if self.out.exists() else []

    def wait_for_lines(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines()) < n:
            assert self.proc.poll() is None, f"synth ended early: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {n} results within {timeout} s"
            self.look()
            time.sleep(0.2)


@pytest.fixture
def runs() -> Iterator[list[Synth]]:
    started: list[Synth] = []
    yield started
    for run in started:
        run.kill()


def check_stopped(run: Synth, signum: int, took: float, before: list[str]) -> None:
    """The exit, the results file, the message and the processes after a stop."""
    assert run.proc.returncode == 128 + signum, run.stderr()  # 130 SIGINT, 143 SIGTERM
    assert took < STOP_WITHIN_S, f"took {took:.2f} s"
    after = run.lines()
    assert after[: len(before)] == before  # nothing finished is lost or rewritten
    results = [TaskResult.from_dict(json.loads(line)) for line in after]  # every line whole
    ids = [r.task_id for r in results]
    assert len(ids) == len(set(ids)) and len(ids) < LIMIT  # once each; stopped before the end
    assert run.last_line() == (
        f"stopped by {signum.name}: {len(ids)} of {LIMIT} tasks saved in {run.out}")
    assert any("tools.sandbox_server" in command for command in run.seen.values())
    assert not run.left(), f"processes synth started are left: {run.left()}"
    assert not list(run.tmp.glob("devstarl-sandbox-*")), "the sandbox's scratch folder is left"


def test_a_signal_while_the_server_answers_stops_at_once(tmp_path: Path, demo_db,
                                                         runs) -> None:
    """The server backend with a slow scripted server: a request is in flight at the signal."""
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}  # every reply asked for
    with scripted_server(COUNT, delay=1.5) as api_base:
        run = Synth(out, env, "--backend", "server", "--model", "base",
                    "--api-base", api_base, "--rounds", "0", "--docs-k", "0",
                    "--workers", "1")  # one task at a time, so later ones are still to come
        runs.append(run)
        run.wait_for_lines(1, timeout=120)
        time.sleep(0.5)  # the next task's request is on the wire
        before = run.lines()
        took = run.stop(signal.SIGINT)
    print(f"SIGINT: stopped in {took:.2f} s with {len(before)} result(s) written")
    check_stopped(run, signal.SIGINT, took, before)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_generation_stops_at_once(tmp_path: Path, demo_db, default_model, runs,
                                               signum: signal.Signals) -> None:
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}  # nothing cached
    if signum == signal.SIGTERM:
        env["WANDB_MODE"] = "offline"  # as users run it: W&B's service is one more child
    run = Synth(out, env, "--rounds", "0", "--max-tokens", "128")
    runs.append(run)
    run.wait_for_lines(1, timeout=400)
    cpu = cpu_seconds(run.proc.pid)
    time.sleep(1.0)  # into the next task's generation
    busy = cpu_seconds(run.proc.pid) - cpu
    assert busy > 0.3, f"synth was idle ({busy:.2f} CPU s in 1 s), not generating"
    before = run.lines()
    took = run.stop(signum)
    print(f"{signum.name}: stopped in {took:.2f} s with {len(before)} result(s) written")
    check_stopped(run, signum, took, before)
