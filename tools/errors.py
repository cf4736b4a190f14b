"""Failures of our own. Failures caused by generated code are ToolResult values, never these."""


class DevstarlError(Exception):
    """Base of errors the CLI reports as one line."""


class DatabaseError(DevstarlError):
    """A database that is missing, unreadable, corrupt or lacks what was asked for."""


class SandboxError(DevstarlError):
    """The sandbox itself broke (could not start, died, answered garbage)."""
