"""`devstarl web` stops within 5 s on SIGINT or SIGTERM with a question in flight (its model
call held by a slow scripted server): exit status 130 or 143, one line saying so, and no
process it started left (the sandbox its first question started)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.agents.fakes import scripted_server
from tests.processes import Watched

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]
COUNT = "```python\nflights.agg(n_flights=_.count())\n```"
QUESTION = "How many flights are there?"
LATER = "How many flights were there in July?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask_ignoring_the_end(url: str) -> None:
    """A question whose answer never comes: the service stops while it waits."""
    try:
        httpx.post(f"{url}/api/ask", json={"question": LATER}, timeout=60)
    except httpx.HTTPError:
        pass


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_with_a_question_in_flight_stops_at_once(demo_db, tmp_path, signum) -> None:
    port = free_port()
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}  # every reply asked for
    url = f"http://127.0.0.1:{port}"
    # One reply per question (rounds 0): the first at once, the second after a minute.
    with scripted_server(COUNT, delays=(0.0,), delay=60.0) as api_base:
        web = Watched([*DEVSTARL, "web", "--port", str(port), "--backend", "server", "--model",
                       "base", "--api-base", api_base, "--rounds", "0", "--workers", "1"],
                      env, ROOT, tmp_path / "stderr.txt")
        try:
            deadline = time.monotonic() + 120
            while True:
                assert web.proc.poll() is None, web.stderr()
                try:
                    if httpx.get(f"{url}/api/databases").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "devstarl web did not start in 120 s"
                time.sleep(0.5)
            first = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=120)
            assert first.status_code == 200 and first.json()["ok"], first.text
            second = threading.Thread(target=ask_ignoring_the_end, args=(url,), daemon=True)
            second.start()
            time.sleep(1.0)  # its model call is waiting on the scripted server
            assert second.is_alive()
            web.look()
            assert any("tools.sandbox_server" in c for c in web.seen.values()), web.seen
            took = web.stop(signum)
            second.join(timeout=10)
        finally:
            web.kill()
    print(f"{signal.Signals(signum).name}: web stopped in {took:.2f} s")
    assert web.proc.returncode == 128 + signum, web.stderr()
    assert took < 5.0, f"took {took:.2f} s"
    assert web.last_line() == f"stopped by {signal.Signals(signum).name}"
    assert not web.left(), f"processes web started are left: {web.left()}"
