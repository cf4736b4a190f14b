"""Kernel-level confinement of the sandbox child, layered under the allow-list (`tools.policy`).

Applied in the forked child after its rlimits and before the program is checked and run, in
this order, each where the running kernel offers it:
- a new network namespace (no interface but a down loopback), unless the request needs the
  network (a database URL); as non-root through a new user namespace where permitted;
- Landlock: the child may read only the Python installation and its libraries, the shared
  libraries and time-zone data, and the database file; it may write, create or remove nothing;
- a seccomp filter: no execve, no fork or vfork (clone only for threads), no ptrace or
  cross-process memory access, no mounts, namespaces, BPF, perf, keyrings, kernel modules,
  io_uring or userfaultfd, no signals to other processes, and no sockets unless the request
  needs the network;
- no new privileges (set by both of the above).

Bindings: `landlock` and `pyseccomp` (libseccomp). A layer the kernel lacks is reported as off
with its reason and the others still apply; a layer the kernel has that fails to apply stops the
request (fail closed). What remains uncovered is listed in `tools.sandbox`'s docstring.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CLONE_THREAD = 0x00010000
_PR_GET_SECCOMP = 21
_PR_GET_NO_NEW_PRIVS = 39
_SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)

# Read-only roots besides the database: what Python, its packages and their shared libraries
# may load lazily after the fork.
_SYSTEM_READ = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo",
                "/etc/ld.so.cache", "/etc/localtime")
# DuckDB reads its cgroup's memory limit when it opens a database, and aborts if it cannot;
# gRPC (the Spark Connect client) seeds itself from /dev/urandom, and aborts if it cannot.
_PROCESS_READ = ("/proc/self/cgroup", "/sys/fs/cgroup", "/dev/urandom")

# Denied with EPERM: starting programs or processes, reaching other processes, changing what
# the process can see of the system, and kernel interfaces nothing here needs.
_DENIED_SYSCALLS = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "kcmp", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "open_by_handle_at",
    "name_to_handle_at", "mknod", "mknodat", "acct", "quotactl", "syslog", "settimeofday",
    "clock_settime", "sethostname", "setdomainname", "fanotify_init", "tkill",
)
_NETWORK_SYSCALLS = ("socket", "socketpair")

try:
    import landlock
    from landlock.plumbing import FSAccess, landlock_abi_version
except (ImportError, OSError) as e:  # pragma: no cover - the package is a dependency
    landlock = None
    _LANDLOCK_IMPORT_ERROR = str(e)
try:
    import pyseccomp
except (ImportError, OSError, RuntimeError) as e:  # libseccomp.so.2 missing
    pyseccomp = None
    _SECCOMP_IMPORT_ERROR = str(e)


class ConfinementError(Exception):
    """A layer the kernel offers could not be applied."""


def read_roots() -> list[str]:
    """Folders the child may read: the interpreter, its packages and system libraries."""
    candidates: set[str] = {sys.prefix, sys.base_prefix, sys.exec_prefix, *_SYSTEM_READ}
    candidates.update(p for p in sysconfig.get_paths().values())
    candidates.update(p for p in sys.path if p)
    return sorted(p for p in candidates if os.path.exists(p))


_ROOTS = read_roots()  # computed once in the server, before any fork


def confine(read_files: Iterable[str] = (), *, network: bool = False) -> dict[str, str]:
    """Confine this process (a freshly forked, single-threaded child); return each layer's state.

    `read_files` are the only files outside the installation it may open, read-only.
    """
    layers = {"network": _new_network_namespace() if not network else "off: the request "
              "reaches a database server"}
    layers["landlock"] = _landlock([f for f in read_files if os.path.exists(f)])
    layers["seccomp"] = _seccomp(network)
    layers["no_new_privs"] = "on" if _prctl(_PR_GET_NO_NEW_PRIVS) == 1 else "off"
    return layers


def _new_network_namespace() -> str:
    if _libc.unshare(_CLONE_NEWNET) == 0:
        return "on"
    first = ctypes.get_errno()
    if first == errno.EPERM and _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        return "on (user namespace)"
    return f"off: unshare refused ({os.strerror(ctypes.get_errno() or first)})"


def _landlock(files: list[str]) -> str:
    if landlock is None:
        return f"off: landlock bindings unavailable ({_LANDLOCK_IMPORT_ERROR})"
    try:
        abi = landlock_abi_version()
    except Exception as e:  # noqa: BLE001 - the kernel lacks it or it is disabled
        return f"off: not offered by this kernel ({e})"
    try:
        ruleset = landlock.Ruleset()  # handles every access right it knows: all denied but rules
        read = FSAccess.READ_FILE | FSAccess.READ_DIR
        for root in _ROOTS:
            ruleset.allow(root, rules=read if os.path.isdir(root) else FSAccess.READ_FILE)
        for path in [*files, *(p for p in _PROCESS_READ if os.path.exists(p))]:
            ruleset.allow(path, rules=read if os.path.isdir(path) else FSAccess.READ_FILE)
        ruleset.apply()
    except Exception as e:  # noqa: BLE001
        raise ConfinementError(f"landlock could not be applied: {e}") from None
    return f"on (ABI {abi})"


def _seccomp(network: bool) -> str:
    if pyseccomp is None:
        return f"off: libseccomp unavailable ({_SECCOMP_IMPORT_ERROR})"
    if not Path("/proc/self/status").exists() or _prctl(_PR_GET_SECCOMP) < 0:
        return "off: not offered by this kernel"
    deny = pyseccomp.ERRNO(errno.EPERM)
    pid = os.getpid()
    try:
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for name in _DENIED_SYSCALLS + (() if network else _NETWORK_SYSCALLS):
            rules.add_rule(deny, name)
        # Threads only: a clone without CLONE_THREAD is a new process. glibc falls back from
        # clone3 (whose flags a filter cannot read) to clone on ENOSYS.
        rules.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, _CLONE_THREAD, 0))
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.add_rule(deny, "kill", pyseccomp.Arg(0, pyseccomp.NE, pid))
        rules.add_rule(deny, "tgkill", pyseccomp.Arg(0, pyseccomp.NE, pid))
        rules.load()
    except Exception as e:  # noqa: BLE001
        raise ConfinementError(f"seccomp could not be applied: {e}") from None
    if _prctl(_PR_GET_SECCOMP) != _SECCOMP_MODE_FILTER:
        raise ConfinementError("seccomp filter did not take effect")
    return "on"


def _prctl(option: int) -> int:
    return _libc.prctl(option, 0, 0, 0, 0)
