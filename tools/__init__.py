"""Tools the agent calls: schema inspection, `compile` and `execute_on_sample`, and the sandbox
they run generated code in. Nothing here imports `agents`."""

from tools.errors import DatabaseError, DevstarlError, SandboxError
from tools.records import ToolResult

__all__ = ["DatabaseError", "DevstarlError", "SandboxError", "ToolResult"]
