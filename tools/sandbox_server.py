"""The warm sandbox server: imports ibis once, then forks a fresh child per request.

Protocol: one JSON request per line on stdin, one JSON response per line on the protocol fd
(the original stdout, which is then pointed at /dev/null so nothing else can write to it).
Run as `python -m tools.sandbox_server`; `tools.sandbox.Sandbox` starts and talks to it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Any

from tools import sandbox_child
from tools.confine import ConfinementError, confine

MAX_RESPONSE_BYTES = 1_000_000

_SIGNAL_KINDS = {
    signal.SIGXCPU: ("timeout", "timeout: the program used too much CPU time"),
    signal.SIGKILL: ("timeout", "timeout: the program ran too long and was stopped"),
    signal.SIGXFSZ: ("rejected", "rejected: the program tried to write a file"),
    signal.SIGSEGV: ("memory", "memory: the program crashed, most likely out of memory"),
    signal.SIGABRT: ("memory", "memory: the program aborted, most likely out of memory"),
}


def handle(req: dict[str, Any]) -> dict[str, Any]:
    """Fork a child for one request, collect its answer, kill it when over the wall limit."""
    t0 = time.perf_counter()
    sandbox_child.prepare(req)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        _child(req, write_fd)
    os.close(write_fd)
    data, timed_out, too_big = _collect(read_fd, time.monotonic() + req["wall_s"])
    os.close(read_fd)
    if timed_out or too_big:
        _kill_group(pid)
    # Wait without reaping, so the group id cannot be reused before leftovers are killed.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    if too_big:
        return {"kind": "runtime_error", "error": "the result was too large", "seconds": seconds}
    if timed_out:
        return {"kind": "timeout", "error": f"timeout: stopped after {req['wall_s']} s",
                "seconds": seconds}
    try:
        out = json.loads(data)
    except ValueError:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        kind, error = _SIGNAL_KINDS.get(sig, ("runtime_error", f"the program died ({status=})"))
        out = {"kind": kind, "error": error}
    out["seconds"] = seconds
    return out


def _child(req: dict[str, Any], write_fd: int) -> None:
    """Never returns: runs the request under limits and exits without cleanup handlers."""
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, 65536)
        sandbox_child.apply_limits(req["cpu_s"], req["memory_mb"])
        files, network = sandbox_child.reach(req)
        layers = confine(files, network=network)
        result = sandbox_child.run(req, layers)
        payload = json.dumps(result, default=str).encode()
        if len(payload) > MAX_RESPONSE_BYTES:
            payload = json.dumps({"kind": "runtime_error", "error": "the result was too large"})
            payload = payload.encode()
        os.write(write_fd, payload)
    except ConfinementError as e:  # ours, not the program's: the client raises SandboxError
        os.write(write_fd, json.dumps({"kind": "server_error", "error": str(e)}).encode())
    except BaseException as e:  # noqa: BLE001 - report anything, never unwind into the server loop
        try:
            msg = {"kind": "runtime_error", "error": sandbox_child.error_line(e)}
            os.write(write_fd, json.dumps(msg).encode())
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(0)


def _collect(fd: int, deadline: float) -> tuple[bytes, bool, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", True, False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False, False
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES + 4096:
            return b"", False, True


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sandbox_child.warm_up()
    proto.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            response = handle(json.loads(line))
        except Exception as e:  # noqa: BLE001 - a broken request must not kill the server
            response = {"kind": "server_error", "error": sandbox_child.error_line(e)}
        proto.write(json.dumps(response) + "\n")


if __name__ == "__main__":
    main()
