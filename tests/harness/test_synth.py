"""Batch synthesis: resumable, exactly once per task, killed or not."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dspy
import pytest

import tools.stopping
from agents.config import AgentConfig
from agents.lm import LMConfig, make_lm
from agents.traces import TraceStore
from harness.evaluate import Sample, TaskResult
from harness.synth import ResultWriter, SynthConfig, read_results, synthesize
from harness.tasks import load_tasks
from harness.tracking import meta_path
from serving.env import default_batch, has_gpu
from tests.agents.fakes import InFlight, ScriptedEngine, scripted_server
from tools.errors import DevstarlError

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
COUNT = "```python\nflights.agg(n_flights=_.count())\n```"


def synth_cmd(api_base: str, out: Path, *extra: str) -> list[str]:
    return [*DEVSTARL, "synth", str(TASKS), "-o", str(out), "--backend", "server",
            "--model", "base", "--api-base", api_base, "--limit", "12", "--rounds", "0",
            "--docs-k", "0", "--shots", "0", *extra]


def ids_in(path: Path) -> list[str]:
    return [json.loads(line)["task_id"] for line in path.read_text().splitlines()]


def test_kill_9_then_resume_has_every_task_once(tmp_path: Path, demo_db) -> None:
    out = tmp_path / "results.jsonl"
    env = os.environ.copy()
    with scripted_server(COUNT, delay=0.3) as api_base:
        proc = subprocess.Popen(synth_cmd(api_base, out, "--workers", "2"), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or len(ids_in(out)) < 4):
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        written = ids_in(out)
        assert 4 <= len(written) < 12  # killed halfway
        with out.open("a") as f:
            f.write('{"task_id": "nyc-0')  # a torn write, as a kill mid-line leaves
        done = subprocess.run(synth_cmd(api_base, out, "--workers", "2"), env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = ids_in(out)
    assert sorted(final) == sorted(set(final)) and len(final) == 12
    assert final[: len(written)] == written  # what was written stays as it was
    results = read_results(out)
    assert set(results) == {f"nyc-{i:03d}" for i in range(1, 13)}


def test_synth_keeps_a_servers_batch_in_flight(tmp_path: Path, demo_db) -> None:
    batch = default_batch(has_gpu())  # what `devstarl serve` on this machine decodes at once
    out, load = tmp_path / "results.jsonl", InFlight(hold=batch)
    # a cache of its own: the response cache would answer the prompts earlier tests sent
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}
    with scripted_server(COUNT, in_flight=load) as api_base:
        done = subprocess.run(synth_cmd(api_base, out), env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(meta_path(out).read_text())["synth"]["workers"] == batch
    assert load.peak == min(batch, 12)  # no --workers: the server got a full batch at once
    assert len(read_results(out)) == 12


def test_results_carry_ex_verdicts(tmp_path: Path, demo_db) -> None:
    out = tmp_path / "results.jsonl"
    with scripted_server(COUNT) as api_base:
        done = subprocess.run(synth_cmd(api_base, out, "--limit", "2", "--eval"),
                              env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = read_results(out)
    first = results["nyc-001"].samples[0]  # "How many flights ... in total?": the gold answer
    assert first.executed and first.correct and first.first_try and first.rounds == 0
    assert results["nyc-002"].samples[0].correct is False  # same program, other question
    assert (tmp_path / "results.jsonl.meta.json").exists()


@pytest.fixture
def fresh_stop(monkeypatch) -> None:
    """A stop settled by a test stays in that test (the flag is process-wide)."""
    monkeypatch.setattr(tools.stopping, "_stopping", threading.Event())


def result(task_id: str) -> TaskResult:
    return TaskResult(task_id=task_id, db="nycflights13", question="?", samples=[Sample()])


def test_a_frozen_writer_says_what_it_saved_and_takes_no_more(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    writer = ResultWriter(out, saved=1, total=5)
    assert writer.write(result("nyc-002"))
    assert writer.freeze() == f"2 of 5 tasks saved in {out}"
    assert not writer.write(result("nyc-003"))
    writer.close()
    assert ids_in(out) == ["nyc-002"]


class FullDisk:
    """A results file on a disk that fills up halfway through the next line."""

    def __init__(self, file) -> None:  # noqa: ANN001 - a text file
        self.file = file

    def write(self, text: str) -> None:
        self.file.write(text[:10])
        self.file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):  # noqa: ANN204 - tell, truncate, flush, fileno, close
        return getattr(self.file, name)


def test_a_full_disk_is_one_clear_error_and_keeps_the_lines_before(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    writer = ResultWriter(out)
    assert writer.write(result("nyc-002"))
    writer._file = FullDisk(writer._file)
    with pytest.raises(DevstarlError) as caught:
        writer.write(result("nyc-003"))
    message = str(caught.value)
    assert "No space left on device" in message and str(out) in message and "\n" not in message
    assert "1 tasks saved" in message
    assert not writer.write(result("nyc-004"))  # closed for writing after the failure
    writer.close()
    assert ids_in(out) == ["nyc-002"] and out.read_bytes().endswith(b"\n")


def test_a_device_that_is_full_from_the_start(tmp_path: Path) -> None:
    writer = ResultWriter(Path("/dev/full"))
    with pytest.raises(DevstarlError, match="cannot write results to /dev/full: No space left"):
        writer.write(result("nyc-002"))
    writer.close()  # quietly: the failure was reported once


class StopAt(ScriptedEngine):
    """Settles a stop, as the signal handler does first, when its `at`-th request comes."""

    def __init__(self, replies: list[str], at: int) -> None:
        super().__init__(replies)
        self.at, self.said = at, None

    def complete(self, request):  # noqa: ANN001, ANN201 - dspy.lm15 types
        if len(self.requests) + 1 == self.at:
            self.said = tools.stopping.settle()
        return super().complete(request)


def test_a_stop_keeps_finished_tasks_drops_the_one_in_flight_and_starts_none(
        tmp_path: Path, demo_db, fresh_stop) -> None:
    out = tmp_path / "results.jsonl"
    engine = StopAt([COUNT] * 3, at=2)  # one reply per task (rounds 0): stop during the second
    lm = dspy.LM("local/scripted", engine=engine, cache=False)
    results = synthesize(load_tasks(TASKS)[:3], out, lm, LMConfig(),
                         AgentConfig(rounds=0, docs_k=0), SynthConfig(),
                         store=TraceStore(tmp_path / "traces.sqlite"), progress=False,
                         program="none")
    assert engine.said == [f"1 of 3 tasks saved in {out}"]
    assert [r.task_id for r in results] == ids_in(out) == ["nyc-001"]
    assert len(engine.requests) == 2  # the third task never started
    assert not tools.stopping._hooks  # the writer's hook went with the run


def test_a_model_server_that_restarts_mid_run_loses_and_repeats_nothing(
        tmp_path: Path, demo_db, capfd) -> None:
    out = tmp_path / "results.jsonl"
    tasks = load_tasks(TASKS)[:4]
    with scripted_server(COUNT, delay=0.2) as api_base:
        config = LMConfig(backend="server", model="base", api_base=api_base, cache=False)
        lm = make_lm(config)
        run = threading.Thread(target=synthesize, args=(
            tasks, out, lm, config, AgentConfig(rounds=0, docs_k=0), SynthConfig(server_wait=60.0)),
            kwargs={"store": TraceStore(tmp_path / "traces.sqlite"), "progress": False,
                    "program": "none"})
        run.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or not ids_in(out)):
            time.sleep(0.05)
    port = int(api_base.rsplit(":", 1)[1].split("/")[0])
    time.sleep(12.0)  # down for longer than DSPy's own quick retries (about 7 s)
    with scripted_server(COUNT, port=port):
        run.join(timeout=120)
    assert not run.is_alive()
    assert sorted(ids_in(out)) == [t.id for t in tasks]  # every task once
    err = capfd.readouterr().err
    assert "stopped answering" in err and "answers again" in err
