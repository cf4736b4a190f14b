"""`devstarl learn` stops within 5 s on SIGINT or SIGTERM, while it bootstraps (the sandbox
busy) or while it fine-tunes (torch in the main thread): exit status 130 or 143, one line
saying so, no process it started left, and the adapter registry as it was."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from agents.registry import adapters_dir
from tests.processes import Watched

pytestmark = pytest.mark.slow

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]


def adapters() -> dict[str, bytes | None]:
    """Every file and folder under the adapters folder; the registry's bytes."""
    found: dict[str, bytes | None] = {str(p): None for p in adapters_dir().rglob("*")}
    registry = adapters_dir() / "registry.json"
    if registry.exists():
        found[str(registry)] = registry.read_bytes()
    return found


# The phases' progress bars, not their heading lines (printed before the work starts).
@pytest.mark.parametrize(("phase", "signum"), [("bootstrap nycflights13", signal.SIGINT),
                                               ("fine-tuning:", signal.SIGTERM)],
                         ids=["bootstrap-SIGINT", "fine-tuning-SIGTERM"])
def test_learn_stops_at_once(tmp_path: Path, demo_db, small_model, phase: str,
                             signum: signal.Signals) -> None:
    before = adapters()
    run = Watched([*DEVSTARL, "learn", "--db", "demo", "-n", "24", "--epochs", "1",
                   "--max-examples", "64", "--base", "smollm2-135m"],
                  os.environ.copy(), ROOT, tmp_path / "stderr.txt")
    try:
        deadline = time.monotonic() + 600
        while phase not in run.stderr():
            assert run.proc.poll() is None, run.stderr()
            assert time.monotonic() < deadline, f"no {phase} within 600 s"
            run.look()
            time.sleep(0.2)
        time.sleep(1.0)
        took = run.stop(signum)
    finally:
        run.kill()
    print(f"{signum.name} in {phase}: learn stopped in {took:.2f} s")
    assert run.proc.returncode == 128 + signum, run.stderr()
    assert took < 5.0, f"took {took:.2f} s"
    assert run.last_line().startswith(f"stopped by {signum.name}")
    assert any("tools.sandbox_server" in c for c in run.seen.values()), run.seen
    assert not run.left(), f"processes learn started are left: {run.left()}"
    new = {p for p in set(adapters()) - set(before) if not p.endswith(".training")
           and ".training/" not in p}
    assert not new and adapters().get(str(adapters_dir() / "registry.json")) == before.get(
        str(adapters_dir() / "registry.json"))  # no adapter finished, nothing registered
