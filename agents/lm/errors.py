"""The LM layer's errors: a config that cannot work, an LM that cannot be reached or loaded."""

from tools.errors import DevstarlError


class LMConfigError(DevstarlError):
    """An LM configuration that cannot work (bad backend, missing folder, bad value)."""


class LMUnavailable(DevstarlError):
    """The LM cannot be reached or loaded: a dead server, a model not installed, a bad folder."""
