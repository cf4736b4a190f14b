"""The sandbox that runs generated Ibis programs, and the client that talks to it.

What it does:
- A warm server process (`tools.sandbox_server`) is started once with a cleaned environment in
  an empty temporary folder; it imports ibis, duckdb and pyarrow, then forks a fresh child per
  request, so a call costs a fork, not a Python start and an ibis import.
- The child starts its own session, closes every inherited file descriptor but its result pipe,
  sets kernel limits (CPU time, address space, file size 0 so any file write kills it, no core
  files), then checks the program against the allow-list in `tools.policy` (no imports, no
  dunder or private attributes, no raw SQL, no file readers or writers, no frame walking, a
  short list of builtins) and runs it with only the tables, `ibis` (a stand-in exposing the
  public API minus backends, readers and options) and `_` in scope.
- Data is reached through a read-only DuckDB connection with `enable_external_access=false`,
  extension auto-install/auto-load off, no temp directory, one thread, a memory limit, and
  `lock_configuration=true`, so the program can neither read nor write files through SQL. Every
  table the program reads must be one it was given: a table made by name (DuckDB's catalog,
  `information_schema`) is rejected.
- Under the allow-list, the kernel confines the child (`tools.confine`): a new network
  namespace, Landlock (read only the installation, system libraries and the database file;
  write nothing), a seccomp filter (no execve, fork, ptrace, mounts, namespaces, sockets, signals
  to other processes) and no new privileges. `devstarl doctor` shows which layers are on; tests
  turn the allow-list off (`unchecked_for_tests`) to show the kernel stops escapes alone.
- The server kills the child's whole process group when it passes the wall-clock limit or sends
  more than the response limit; cells and errors are truncated.

What it does not cover:
- A layer the running kernel lacks (Landlock before Linux 5.13, no user namespaces for a
  non-root user) is reported off by `devstarl doctor`, and the others still hold.
- The child can read what the installation holds (site-packages, the project's own source) and
  its cgroup's limits; it cannot list or read the user's home, other databases or /proc of other
  processes.
- Memory-safety bugs in CPython, ibis or DuckDB that the layers do not cover: reading what the
  child may read, and spending its CPU, memory and wall-clock budget.
- RLIMIT_NPROC is not enforced for root; forks are stopped by seccomp and the allow-list.
- Backends other than DuckDB (a connection URL) need the network: for them there is no network
  namespace and sockets are allowed, and read-only access is the database role's job. Where the
  engine can tell (PostgreSQL), `tools.database.resolve` refuses a role that can write, and the
  child's session is read-only with a statement timeout under the wall-clock limit
  (`tools.engines`); a program that got past the allow-list could undo session settings, not
  the role's missing privileges (tests/engines/test_postgres_read_only.py). Spark Connect has
  no roles and no statement timeout: there the allow-list is all that keeps a program from
  writing, and a query killed at the wall-clock limit may run on in the server.
- Denial of service within the limits (a query that takes the whole wall-clock budget) is
  possible by design; the limits bound it.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tools.errors import SandboxError
from tools.stopping import after_stop


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    wall_s: float = 10.0  # wall-clock seconds before the child is killed
    cpu_s: int = 8  # CPU seconds (RLIMIT_CPU)
    memory_mb: int = 1024  # address space on top of the warm server's (RLIMIT_AS)
    duckdb_memory_mb: int = 512  # DuckDB's own memory_limit
    max_rows: int = 20  # rows returned with the result (the row count is always exact)


_START_TIMEOUT_S = 60.0
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Sandbox:
    """Client of one warm sandbox server. Thread-safe; requests are served one at a time."""

    def __init__(self, *, unchecked_for_tests: bool = False) -> None:
        """`unchecked_for_tests` turns the allow-list off, for tests of the kernel layers only."""
        self._unchecked = unchecked_for_tests
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._buffer = b""
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._forget_workdir: Callable[[], None] = lambda: None

    def request(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        """Send one request; return the server's answer. Raises SandboxError if it broke."""
        message = {**payload, **asdict(limits)}
        with self._lock:
            for attempt in (1, 2):  # a server that died between calls is restarted once
                self._ensure_started()
                try:
                    self._send(message)
                    answer = self._receive(time.monotonic() + limits.wall_s + 15.0)
                except SandboxError:
                    self._stop()
                    if attempt == 2:
                        raise
                    continue
                if answer.get("kind") == "server_error":
                    raise SandboxError(f"sandbox server failed: {answer.get('error')}")
                return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        self._workdir = tempfile.TemporaryDirectory(prefix="devstarl-sandbox-")
        self._forget_workdir = after_stop(self._workdir.cleanup)  # os._exit skips its finalizer
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self._workdir.name,
            "TMPDIR": self._workdir.name,
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(_PROJECT_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
        }
        if self._unchecked:
            env["DEVSTARL_SANDBOX_UNCHECKED_FOR_TESTS"] = "1"
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tools.sandbox_server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self._workdir.name,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            raise SandboxError(f"cannot start the sandbox server: {e}") from e
        self._buffer = b""
        hello = self._receive(time.monotonic() + _START_TIMEOUT_S)
        if not hello.get("ready"):
            raise SandboxError(f"sandbox server sent an unexpected greeting: {hello}")

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise SandboxError(f"sandbox server is gone: {e}") from e

    def _receive(self, deadline: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxError("sandbox server did not answer in time")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise SandboxError("sandbox server exited unexpectedly")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError as e:
            raise SandboxError(f"sandbox server sent malformed output: {line[:200]!r}") from e

    def _stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream:
                    stream.close()
            self._proc = None
        if self._workdir is not None:
            self._forget_workdir()
            self._workdir.cleanup()
            self._workdir = None


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox, started on first use and stopped at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default
