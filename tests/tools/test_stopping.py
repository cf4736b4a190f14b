"""Stopping on a signal (tools.stopping), in a small process shaped like synth: a busy
non-daemon thread, a child in its own session with a child of its own (the sandbox server and
a run), a child that ignores SIGTERM, and a stop hook that reports what was saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.stopping import descendants

ROOT = Path(__file__).resolve().parents[2]
SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]
SCRIPT = f"""
import signal, subprocess, sys, threading, time
from tools.stopping import on_stop, stop_on_signals, stopping

stop_on_signals()
on_stop(lambda: "2 of 5 tasks saved in out.jsonl")
on_stop(lambda: 1 / 0)  # a broken hook is reported, and the stop goes on
server = subprocess.Popen([sys.executable, "-c", "import subprocess, time; "
                           "subprocess.Popen({SLEEP!r}); time.sleep(600)"],
                          start_new_session=True)
stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                             "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                             "print('ready', flush=True); time.sleep(600)"],
                            stdout=subprocess.PIPE, text=True)
stubborn.stdout.readline()
threading.Thread(target=lambda: time.sleep(600)).start()  # never joined: a stop awaits no thread
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""


def alive(pid: int) -> bool:
    """True while `pid` exists, as a zombie too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def stoppable() -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """The process, ready, and its 3 descendants (waited for: the grandchild starts late)."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    found: list[int] = []
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        deadline = time.monotonic() + 30
        while len(found := descendants(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(found) == 3
        yield proc, found
    finally:
        for pid in [proc.pid, *found]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_at_once_reports_and_leaves_no_process(stoppable, signum) -> None:
    proc, found = stoppable
    sent = time.monotonic()
    proc.send_signal(signum)
    proc.wait(timeout=5)
    took = time.monotonic() - sent
    assert proc.returncode == 128 + signum  # 130, 143
    assert took < 3.0  # 1 s of grace for the stubborn child, then SIGKILL
    lines = proc.stderr.read().strip().splitlines()
    name = signal.Signals(signum).name
    assert lines[-1].startswith(f"stopped by {name}: 2 of 5 tasks saved in out.jsonl; ")
    assert "ZeroDivisionError" in lines[-1] or "division by zero" in lines[-1]
    assert not [pid for pid in found if alive(pid)]  # ended and reaped: not even zombies


def test_a_second_signal_while_stopping_changes_nothing(stoppable) -> None:
    proc, found = stoppable
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # inside the stubborn child's grace
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=5)
    assert proc.returncode == 130
    assert proc.stderr.read().count("stopped by") == 1
    assert not [pid for pid in found if alive(pid)]


def test_descendants_follow_the_parent_chain() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import subprocess, time; "
                              f"subprocess.Popen({SLEEP!r}); time.sleep(600)"],
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        # Wait for the grandchild itself: the test process may have other children (a
        # session's sandbox server), so a count of our descendants says nothing.
        while not descendants(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = descendants(os.getpid())
        assert child.pid in found and len(descendants(child.pid)) == 1
        assert descendants(child.pid)[0] in found
    finally:
        for pid in descendants(child.pid):
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()
