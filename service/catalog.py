"""The databases a service answers on: those named when it started, looked up by name only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.errors import BadInput, NotFound
from tools.database import Database, resolve
from tools.errors import DevstarlError
from tools.schema import Schema, inspect

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Entry:
    database: Database
    schema: Schema


class Catalog:
    """Name -> database and its schema, fixed at start: a request can only choose among them."""

    def __init__(self, specs: list[str] | None = None) -> None:
        self._entries: dict[str, Entry] = {}
        for spec in specs or ["demo"]:
            database = resolve(spec)
            if database.name in self._entries:
                raise DevstarlError(f"two databases are both named {database.name!r}")
            self._entries[database.name] = Entry(database, inspect(database))

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    @property
    def default(self) -> str:
        return self.names[0]

    def get(self, name: str | None) -> Entry:
        """The entry named `name` (None: the first); refuses paths, URLs and unknown names."""
        name = self.default if name is None else name
        if not _NAME.match(name) or ".." in name:
            raise BadInput(f"expected a database name ({', '.join(self.names)}), not a path "
                           "or URL")
        if name not in self._entries:
            raise NotFound(f"unknown database {name!r}; this service answers on: "
                                  f"{', '.join(self.names)}")
        return self._entries[name]

    def describe(self) -> list[dict]:
        """Every database with its tables: name, rows and columns (name, type)."""
        return [{"name": name, "tables": [
            {"name": t.name, "rows": t.rows,
             "columns": [{"name": c.name, "type": c.type.lstrip("!")} for c in t.columns]}
            for t in entry.schema.tables]} for name, entry in self._entries.items()]
