"""The kernel layers alone (tools/confine.py): programs that skip the allow-list on purpose, one
property each. Each would succeed (return a table) if its layer were missing; each must end in
the kernel's EPERM/EACCES, the server must stay up, and no file may change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.calls import execute_on_sample
from tools.database import Database
from tools.sample import sample_path
from tools.sandbox import Limits, Sandbox

CANARY = b"canary: must stay byte-identical\n"
LIMITS = Limits(wall_s=8.0, cpu_s=4, memory_mb=512)
# EPERM, EACCES, ENOSYS as Python and DuckDB word them
DENIED = ("[Errno 1]", "[Errno 13]", "[Errno 38]", "Permission denied")
LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
FAIL_IF = "if r != 0:\n    raise OSError(ctypes.get_errno(), 'refused')\n"

# (id, program). {canary}, {dir} and {sample} become real paths. Every program ends in a table,
# so a layer that lets it through shows as a successful run.
ESCAPES = [
    ("read-etc-passwd", "x = open('/etc/passwd').read()\nflights.count()"),
    ("read-a-file-beside-the-data", "x = open('{canary}').read()\nflights.count()"),
    ("read-the-servers-environment",
     "import os\nx = open(f'/proc/{{os.getppid()}}/environ').read()\nflights.count()"),
    ("list-home", "import os\nx = os.listdir('/root')\nflights.count()"),
    ("write-a-file", "open('{canary}', 'a').write('pwned')\nflights.count()"),
    ("create-a-file", "open('{dir}/new.txt', 'w').close()\nflights.count()"),
    ("write-the-database", "open('{sample}', 'r+b').write(b'x')\nflights.count()"),
    ("remove-a-file", "import os\nos.unlink('{canary}')\nflights.count()"),
    ("rename-a-file", "import os\nos.rename('{canary}', '{dir}/moved')\nflights.count()"),
    ("make-a-folder", "import os\nos.mkdir('{dir}/sub')\nflights.count()"),
    ("symlink", "import os\nos.symlink('/etc/passwd', '{dir}/link')\nflights.count()"),
    ("duckdb-copy-to-a-file",  # a fresh DuckDB connection, with none of our settings
     "import duckdb\nduckdb.connect().execute(\"COPY (SELECT 1) TO '{dir}/out.csv'\")\n"
     "flights.count()"),
    ("duckdb-read-a-file",
     "import duckdb\nduckdb.connect().execute(\"SELECT * FROM read_text('/etc/passwd')\")"
     ".fetchall()\nflights.count()"),
    ("fork", "import os\nos.fork()\nflights.count()"),
    ("execve", "import os\nos.execv('/bin/true', ['true'])"),
    ("subprocess", "import subprocess\nsubprocess.run(['id'])\nflights.count()"),
    ("posix-spawn", "import os\nos.posix_spawn('/bin/true', ['true'], {{}})\nflights.count()"),
    ("tcp-socket", "import socket\nsocket.socket(socket.AF_INET)\nflights.count()"),
    ("unix-socketpair", "import socket\nsocket.socketpair()\nflights.count()"),
    ("connect-out", "import socket\nsocket.create_connection(('127.0.0.1', 22), 1)\n"
                    "flights.count()"),
    ("kill-the-server", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                        "flights.count()"),
    ("ptrace-the-server", LIBC + "import os\nr = libc.ptrace(16, os.getppid(), 0, 0)\n" + FAIL_IF
     + "flights.count()"),
    ("unshare", LIBC + "r = libc.unshare(0x00020000)\n" + FAIL_IF + "flights.count()"),
    ("mount", LIBC + "r = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)\n" + FAIL_IF
     + "flights.count()"),
]


@pytest.fixture(scope="module")
def unchecked() -> Iterator[Sandbox]:
    box = Sandbox(unchecked_for_tests=True)
    assert box.request({"op": "layers"}, LIMITS)["allow_list"] is False  # started, unchecked
    yield box
    box.close()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    canary = tmp_path / "canary.txt"
    canary.write_bytes(CANARY)
    return {"canary": canary, "dir": tmp_path}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("program", [p for _, p in ESCAPES], ids=[n for n, _ in ESCAPES])
def test_the_kernel_stops_what_the_allow_list_let_through(
    program: str, unchecked: Sandbox, demo_db: Database, files: dict[str, Path]
) -> None:
    sample = sample_path(demo_db)
    before = _sha(sample)
    code = program.format(canary=files["canary"], dir=files["dir"], sample=sample)
    server = unchecked.pid
    result = execute_on_sample(code, demo_db, sandbox=unchecked, limits=LIMITS)
    assert not result.ok, result
    assert any(code in (result.error or "") for code in DENIED), result
    assert unchecked.pid == server  # the server neither died nor restarted
    assert files["canary"].read_bytes() == CANARY
    assert sorted(p.name for p in files["dir"].iterdir()) == ["canary.txt"]
    assert _sha(sample) == before


def test_enough_escapes_are_tried() -> None:
    assert len(ESCAPES) >= 10 and len({n for n, _ in ESCAPES}) == len(ESCAPES)


def test_without_the_allow_list_honest_programs_still_run(unchecked: Sandbox,
                                                          demo_db: Database) -> None:
    """The layers forbid what programs never need: imports of loaded modules, threads (DuckDB
    and Python's), reading the database and time zones all still work."""
    code = ("import threading, json\nt = threading.Thread(target=len, args=[[]])\nt.start()\n"
            "t.join()\nflights.filter(_.time_hour.hour() > 6).group_by('carrier')"
            ".agg(n=_.count()).order_by('carrier').limit(2)")
    result = execute_on_sample(code, demo_db, sandbox=unchecked, limits=LIMITS)
    assert result.ok, result
    assert result.preview["rows"][0][0] == "9E"


def test_every_layer_is_on(sandbox: Sandbox) -> None:
    answer = sandbox.request({"op": "layers"}, LIMITS)
    assert answer["allow_list"] is True
    layers = answer["layers"]
    assert set(layers) == {"network", "landlock", "seccomp", "no_new_privs"}
    assert all(state.startswith("on") for state in layers.values()), layers


def test_a_database_server_keeps_its_network() -> None:
    """A URL to a database server needs sockets: no network namespace, sockets allowed."""
    from tools.sandbox_child import reach

    assert reach({"db_url": "postgres://reader@localhost/db"}) == ([], True)
    assert reach({"db_url": "sqlite:///data/x.db"}) == (["/data/x.db"], False)
    assert reach({"db_path": "/d/x.duckdb"}) == (["/d/x.duckdb", "/d/x.duckdb.wal"], False)
