"""`devstarl mcp` as an MCP client starts it: a subprocess over stdio, driven by the SDK's own
client, on the real default model and the real demo database."""

from __future__ import annotations

import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

from agents.traces import TraceStore

QUESTION = "Which carrier had the highest average arrival delay?"
FAST = ["--max-tokens", "48", "--rounds", "1"]  # short replies keep the real model quick


async def session_run() -> dict:
    server = StdioServerParameters(command=sys.executable,
                                   args=["-m", "devstarl", "mcp", *FAST], env=dict(os.environ))
    seen: dict = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        seen["tools"] = {t.name for t in (await session.list_tools()).tools}
        seen["resources"] = [str(r.uri) for r in (await session.list_resources()).resources]
        seen["schema"] = (await session.read_resource("schema://nycflights13")).contents[0].text
        seen["table"] = await session.call_tool("describe_table", {"table": "airlines"})
        seen["missing"] = await session.call_tool("describe_table", {"table": "nope"})
        seen["run"] = await session.call_tool(
            "run_ibis", {"code": "airlines.filter(_.carrier == 'F9').name"})
        seen["ask"] = await session.call_tool("ask", {"question": QUESTION})
    return seen


def test_mcp_lists_tools_describes_a_table_and_answers(demo_db, default_model) -> None:
    seen = anyio.run(session_run)
    assert seen["tools"] == {"list_databases", "describe_table", "ask", "run_ibis"}
    assert seen["resources"] == ["schema://nycflights13"] and "flights" in seen["schema"]

    table = seen["table"].structured_content
    assert not seen["table"].is_error and table["name"] == "airlines"
    assert [c["name"] for c in table["columns"]] == ["carrier", "name"]
    assert seen["missing"].is_error and "unknown table 'nope'" in seen["missing"].content[0].text

    run = seen["run"].structured_content
    assert run["ok"] and "Frontier" in run["output"] and run["row_count"] == 1

    answer = seen["ask"].structured_content
    assert not seen["ask"].is_error
    assert set(answer) >= {"ok", "rows", "code", "sql", "trace_id"}
    assert answer["code"]  # verified or not, the program the model wrote
    stored = TraceStore().get(answer["trace_id"])
    assert stored is not None and stored.question == QUESTION
    assert stored.verified == answer["ok"]
