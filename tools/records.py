"""The ToolResult record (DESIGN.md): what a tool call returns to the model and the trace."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["ok", "compile_error", "runtime_error", "timeout", "memory", "rejected"]
KINDS: tuple[str, ...] = ("ok", "compile_error", "runtime_error", "timeout", "memory", "rejected")


@dataclass(frozen=True)
class ToolResult:
    """Outcome of running generated code.

    `output` is the text a model reads (SQL, or a rendered preview); `error` is the one line it
    needs to fix a failure; `preview` holds `columns`, `types` and the first `rows`; `rows` is the
    full row count of the result.
    """

    ok: bool
    kind: Kind
    output: str = ""
    error: str = ""
    sql: str | None = None
    preview: dict[str, Any] | None = None
    rows: int | None = None
    seconds: float = 0.0
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown ToolResult kind {self.kind!r}")
        if self.ok != (self.kind == "ok"):
            raise ValueError("ToolResult.ok must be True exactly when kind == 'ok'")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def failure(cls, kind: Kind, error: str, seconds: float = 0.0, **kw: Any) -> ToolResult:
        return cls(ok=False, kind=kind, error=error, output=error, seconds=seconds, **kw)
