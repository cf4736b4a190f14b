"""Stopping a long command at once on Ctrl-C or SIGTERM, keeping what is finished.

Why a signal may not simply unwind: Python runs handlers only in the main thread, between
bytecodes, while the work runs in worker threads (synth's pool) or in C (llama.cpp decoding a
prompt). An exception in the main thread leaves the workers running, and the exit then waits
for them: `ThreadPoolExecutor.__exit__` and interpreter shutdown join its threads, which first
run every queued task. So after `stop_on_signals()` the main thread stops the process itself
and awaits no worker:

1. it settles the work: every hook registered with `on_stop` makes what is finished durable,
   takes nothing more (synth's results file ends its current line) and may say what it kept;
   workers that look at `stopping()` start nothing new;
2. it ends every process descended from this one (a sandbox server and its runs, a vLLM
   server, W&B's service): SIGTERM, a short grace, then SIGKILL, and reaps them, so none is
   left running or as a zombie (found through /proc: Linux only; elsewhere this step is
   skipped);
3. it runs every cleanup registered with `after_stop` (a sandbox's scratch folder, which
   `os._exit` would otherwise leave behind: no atexit handler or finalizer runs);
4. it writes one line on stderr and leaves with `os._exit(128 + signal)`: 130 for SIGINT, 143
   for SIGTERM. Threads are abandoned mid-step; nothing they had not yet saved is kept.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import NoReturn

GRACE_S = 1.0  # for the processes we started to end on SIGTERM before they get SIGKILL
GIVE_UP_S = 3.0  # the most spent ending them; the whole stop stays well within 5 s

_hooks: list[Callable[[], str | None]] = []
_cleanups: list[Callable[[], object]] = []
_hooks_lock = threading.Lock()
_stopping = threading.Event()
_first_signal: list[int] = []


def stopping() -> bool:
    """True once a stop has begun: start no new work."""
    return _stopping.is_set()


def on_stop(hook: Callable[[], str | None]) -> Callable[[], None]:
    """Run `hook` when the process stops; it must not wait long (use lock timeouts) and may
    return a phrase for the stop message ("3 of 31 tasks saved in out.jsonl"). Returns the
    function that unregisters it."""
    with _hooks_lock:
        _hooks.append(hook)

    def forget() -> None:
        with _hooks_lock:
            if hook in _hooks:
                _hooks.remove(hook)

    return forget


def after_stop(cleanup: Callable[[], object]) -> Callable[[], None]:
    """Run `cleanup` on a stop once our processes have ended (step 3): for what they were using,
    like a scratch folder. Returns the function that unregisters it."""
    with _hooks_lock:
        _cleanups.append(cleanup)

    def forget() -> None:
        with _hooks_lock:
            if cleanup in _cleanups:
                _cleanups.remove(cleanup)

    return forget


def stop_on_signals() -> None:
    """From now on SIGINT and SIGTERM stop the process as the module says. Main thread only."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handle)


def _handle(signum: int, frame: object) -> None:
    if _first_signal:  # a second Ctrl-C while stopping: the first is already on its way
        return
    _first_signal.append(signum)
    stop(signum)


def settle() -> list[str]:
    """Step 1: mark the process as stopping and run the hooks; what they said."""
    _stopping.set()
    with _hooks_lock:
        hooks = list(_hooks)
    said = []
    for hook in hooks:
        try:
            text = hook()
        except Exception as e:  # noqa: BLE001 - one broken hook must not block the stop
            text = f"{getattr(hook, '__qualname__', hook)} failed: {e}"
        if text:
            said.append(text)
    return said


def stop(signum: int) -> NoReturn:
    """Steps 1-4: settle, end our processes, clean up after them, say so, exit with
    128 + `signum`."""
    said = settle()
    end_descendants()
    with _hooks_lock:
        cleanups = list(_cleanups)
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - best effort: what one leaves must not block the exit
            pass
    line = f"stopped by {signal.Signals(signum).name}" + (f": {'; '.join(said)}" if said else "")
    try:  # os.write, not print: the signal may have landed inside a print to stderr
        os.write(2, f"\n{line}\n".encode(errors="replace"))
    except OSError:
        pass
    os._exit(128 + signum)


def end_descendants(grace_s: float = GRACE_S, give_up_s: float = GIVE_UP_S) -> None:
    """End every process descended from this one and reap them (step 2)."""
    _become_subreaper()  # orphans of those we end (a sandbox's run) come back here, to be reaped
    start = time.monotonic()
    while True:
        _reap()
        found = descendants(os.getpid())
        elapsed = time.monotonic() - start
        if not found or elapsed > give_up_s:
            return
        # Scanned again each round: a worker thread may start a new one (a sandbox restarts once).
        sig = signal.SIGTERM if elapsed < grace_s else signal.SIGKILL
        for pid in found:
            try:
                os.kill(pid, sig)
            except OSError:  # gone already, or not ours to signal
                pass
        time.sleep(0.02)


def descendants(root: int) -> list[int]:
    """Every process whose chain of parents leads to `root` (zombies included), from /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # ended meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ")"
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap() -> None:
    """Collect every child that has ended (our own zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): a process orphaned below us is re-parented to us rather
    than to init (which, in a container, may never reap it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass
