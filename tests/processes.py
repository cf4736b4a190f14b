"""A command under watch, for tests of stopping: run in its own session, every process below it
remembered as it is seen, and all of them killed in the end whatever the test did."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tools.stopping import descendants


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


class Watched:
    """`args` running in its own session, its stderr in the file `log` (a pipe nobody reads
    while it runs could fill up with progress bars and block it)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path,
                 pipes: bool = False) -> None:
        self.log = log
        with log.open("w") as sink:  # pipes: for a protocol over stdin and stdout (MCP)
            self.proc = subprocess.Popen(args, env=env, cwd=cwd,
                                         stdin=subprocess.PIPE if pipes else None,
                                         stdout=subprocess.PIPE if pipes else subprocess.DEVNULL,
                                         stderr=sink, start_new_session=True)
        self.seen: dict[int, str] = {}  # every descendant noticed while it ran: its command

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def last_line(self) -> str:
        """The last line of stderr (progress bars redraw with carriage returns)."""
        return self.stderr().strip().splitlines()[-1].split("\r")[-1]

    def look(self) -> None:
        for pid in descendants(self.proc.pid):
            self.seen.setdefault(pid, cmdline(pid))

    def stop(self, signum: int) -> float:
        """Send `signum`; the seconds until the process had exited."""
        self.look()
        sent = time.monotonic()
        self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after {signal.Signals(signum).name}")
        return time.monotonic() - sent

    def left(self) -> dict[int, str]:
        """The processes seen below it that still exist (zombies too)."""
        return {pid: command for pid, command in self.seen.items() if alive(pid)}

    def kill(self) -> None:
        for pid in [self.proc.pid, *self.seen, *descendants(self.proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()
