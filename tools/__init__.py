"""Tools the agent calls: schema inspection, `compile` and `execute_on_sample`, and the sandbox
they run generated code in. The bottom layer: imports no other package of ours."""

from tools.errors import DatabaseError, DevstarlError, SandboxError
from tools.records import ToolResult

__all__ = ["DatabaseError", "DevstarlError", "SandboxError", "ToolResult"]
