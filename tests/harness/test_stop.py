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
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.evaluate import TaskResult
from tests.agents.fakes import scripted_server
from tools.stopping import descendants

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
LIMIT = 6
STOP_WITHIN_S = 5.0
COUNT = "```python\nflights.agg(n_flights=_.count())\n```"


class Synth:
    """A `devstarl synth` run in its own session; its leftovers are killed in teardown."""

    def __init__(self, out: Path, env: dict[str, str], *options: str) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [*DEVSTARL, "synth", str(TASKS), "--split", "dev", "--program", "none",
             "--limit", str(LIMIT), "-o", str(out), *options],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.seen: dict[int, str] = {}  # every descendant noticed while it ran: its command

    def look(self) -> None:
        for pid in descendants(self.proc.pid):
            self.seen.setdefault(pid, cmdline(pid))

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines() if self.out.exists() else []

    def wait_for_lines(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines()) < n:
            assert self.proc.poll() is None, f"synth ended early: {self.proc.stderr.read()}"
            assert time.monotonic() < deadline, f"no {n} results within {timeout} s"
            self.look()
            time.sleep(0.2)

    def stop(self, signum: int) -> float:
        """Send `signum`; the seconds until the process had exited."""
        self.look()
        sent = time.monotonic()
        self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"synth still running 60 s after {signum.name}")
        return time.monotonic() - sent

    def kill_leftovers(self) -> None:
        for pid in [self.proc.pid, *self.seen, *descendants(self.proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc.stderr.close()


@pytest.fixture
def runs() -> Iterator[list[Synth]]:
    started: list[Synth] = []
    yield started
    for run in started:
        run.kill_leftovers()


def alive(pid: int) -> bool:
    """True while `pid` exists (as a zombie too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_stopped(run: Synth, signum: int, took: float, before: list[str]) -> None:
    """The exit, the results file, the message and the processes after a stop."""
    stderr = run.proc.stderr.read()
    assert run.proc.returncode == 128 + signum, stderr  # 130 for SIGINT, 143 for SIGTERM
    assert took < STOP_WITHIN_S, f"took {took:.2f} s"
    after = run.lines()
    assert after[: len(before)] == before  # nothing finished is lost or rewritten
    results = [TaskResult.from_dict(json.loads(line)) for line in after]  # every line whole
    ids = [r.task_id for r in results]
    assert len(ids) == len(set(ids)) and len(ids) < LIMIT  # once each; stopped before the end
    assert stderr.strip().splitlines()[-1] == (
        f"stopped by {signum.name}: {len(ids)} of {LIMIT} tasks saved in {run.out}")
    assert any("tools.sandbox_server" in command for command in run.seen.values())
    left = {pid: command for pid, command in run.seen.items() if alive(pid)}
    assert not left, f"processes synth started are left: {left}"


def test_a_signal_while_the_server_answers_stops_at_once(tmp_path: Path, demo_db,
                                                         runs) -> None:
    """The server backend with a slow scripted server: a request is in flight at the signal."""
    out = tmp_path / "results.jsonl"
    with scripted_server(COUNT, delay=1.5) as api_base:
        run = Synth(out, os.environ.copy(), "--backend", "server", "--model", "base",
                    "--api-base", api_base, "--rounds", "0", "--docs-k", "0")
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
