"""What a request can get wrong, and the HTTP status each one answers with."""

from tools.errors import DevstarlError


class BadInput(DevstarlError):
    """An empty or oversized question or program, a path where a name belongs: 400."""


class NotFound(DevstarlError):
    """A database or trace this service does not have: 404."""


class Busy(DevstarlError):
    """Every worker is busy and the queue is full: 503."""


STATUS = {BadInput: 400, NotFound: 404, Busy: 503}
