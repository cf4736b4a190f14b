"""The Doc record: one documented piece of the Ibis API (or one note of ours)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

DOC_VERSION = 1
SNIPPET_CHARS = 600
EXAMPLE_LINES = 4


@dataclass(frozen=True)
class Doc:
    """`id` is short ("Table.group_by", "ibis.desc", "selectors.numeric", "note.count-distinct");
    `name` is the qualified name; `attr` is what a program writes after the dot, with `aliases`
    for other names bound to the same function (`agg` for `aggregate`)."""

    id: str
    name: str
    attr: str
    kind: str  # method | property | function | selector | object | note
    signature: str
    summary: str
    text: str
    examples: list[str] = field(default_factory=list)  # code of each >>> example, output dropped
    aliases: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)  # classes that expose it (mixins have several)
    source: str = "api"  # "api": harvested from the installed ibis; "note": written here
    version: int = DOC_VERSION

    @property
    def attrs(self) -> list[str]:
        return [self.attr, *self.aliases]

    def snippet(self, max_chars: int = SNIPPET_CHARS) -> str:
        """Signature, summary and one short example, for a prompt; at most `max_chars`."""
        head = self.signature if self.source == "api" else f"Note: {self.signature}"
        parts = [head, self.summary]
        example = self.best_example()
        if example:
            parts.append("Example:\n" + example)
        text = "\n".join(p for p in parts if p)
        if len(text) > max_chars:
            text = text[: max_chars - 3].rstrip() + "..."
        return text

    def best_example(self) -> str:
        """The shortest example that calls this API, cut to a few lines."""
        names = [a for a in self.attrs if a]
        calling = [e for e in self.examples
                   if any(re.search(rf"\b{re.escape(a)}\(", e) for a in names)]
        pool = calling or self.examples
        if not pool:
            return ""
        lines = min(pool, key=len).splitlines()
        return "\n".join(lines[-EXAMPLE_LINES:])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Doc:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
