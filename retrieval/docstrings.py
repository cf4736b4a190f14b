"""Turning a numpy-style docstring into prose, a summary and runnable example statements."""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")  # markdown links to .qmd pages that do not ship
# Example statements that only set the stage; they would make every doc look alike.
_BOILERPLATE = re.compile(
    r"^(import |from |ibis\.options\.|t$|t2$|[a-z]\w* = ibis\.(memtable|examples)\.?|"
    r"[a-z]\w* = ibis\.table\()"
)


def clean(doc: str) -> tuple[str, list[str]]:
    """(text, examples): the docstring without example output, and its example statements."""
    text_lines: list[str] = []
    examples: list[str] = []
    current: list[str] | None = None
    in_output = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>"):
            current = _flush(current, examples)
            current = [stripped[4:]]
            in_output = False
        elif stripped.startswith("...") and current is not None and not in_output:
            current.append(stripped[4:])
        elif current is not None or in_output:
            # The first line after a statement starts its output, which runs to a blank line.
            current = _flush(current, examples)
            in_output = bool(stripped)
            if not stripped:
                text_lines.append("")
        elif not stripped.startswith(":::"):  # quarto callout fences
            text_lines.append(_LINK.sub(r"\1", line.replace("## ", "")))
    _flush(current, examples)
    text = "\n".join(text_lines).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    code = [e for e in examples if not _BOILERPLATE.match(e)]
    return text, code


def _flush(current: list[str] | None, examples: list[str]) -> None:
    if current:
        examples.append("\n".join(current).strip())
    return None


def summary(text: str) -> str:
    """The first paragraph, on one line."""
    para = text.strip().split("\n\n", 1)[0]
    return " ".join(para.split())
