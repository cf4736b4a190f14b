"""`devstarl mcp` stops within 5 s on SIGINT or SIGTERM with a question in flight (its model
call held by a slow scripted server): exit status 130 or 143, one line saying so, and no
process it started left (the sandbox its run_ibis call started runs in a session of its own,
so nothing else would end it)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.agents.fakes import scripted_server
from tests.processes import Watched

DEVSTARL = [sys.executable, "-m", "devstarl"]
ROOT = Path(__file__).resolve().parents[2]
COUNT = "```python\nflights.agg(n_flights=_.count())\n```"


class Client:
    """JSON-RPC over the process's stdin and stdout, as the MCP stdio transport frames it."""

    def __init__(self, server: Watched) -> None:
        self.server, self.next_id = server, 0

    def send(self, method: str, params: dict | None = None, notify: bool = False) -> int:
        message: dict = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        self.server.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.server.proc.stdin.flush()
        return self.next_id

    def answer(self, id_: int) -> dict:
        while True:
            line = self.server.proc.stdout.readline()
            assert line, f"devstarl mcp ended: {self.server.stderr()}"
            message = json.loads(line)
            if message.get("id") == id_:
                return message


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_with_a_question_in_flight_stops_at_once(demo_db, tmp_path, signum) -> None:
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}  # every reply asked for
    with scripted_server(COUNT, delay=60.0) as api_base:
        mcp = Watched([*DEVSTARL, "mcp", "--backend", "server", "--model", "base",
                       "--api-base", api_base, "--rounds", "0", "--workers", "1"],
                      env, ROOT, tmp_path / "stderr.txt", pipes=True)
        try:
            client = Client(mcp)
            client.answer(client.send("initialize", {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"}}))
            client.send("notifications/initialized", notify=True)
            run = client.answer(client.send("tools/call", {
                "name": "run_ibis", "arguments": {"code": "airlines.count()"}}))
            assert not run["result"].get("isError"), run
            client.send("tools/call", {"name": "ask",
                                       "arguments": {"question": "How many flights?"}})
            time.sleep(1.0)  # its model call is waiting on the scripted server
            mcp.look()
            assert any("tools.sandbox_server" in c for c in mcp.seen.values()), mcp.seen
            took = mcp.stop(signum)
        finally:
            mcp.kill()
    print(f"{signal.Signals(signum).name}: mcp stopped in {took:.2f} s")
    assert mcp.proc.returncode == 128 + signum, mcp.stderr()
    assert took < 5.0, f"took {took:.2f} s"
    assert mcp.last_line() == f"stopped by {signal.Signals(signum).name}"
    assert not mcp.left(), f"processes mcp started are left: {mcp.left()}"
