"""A code-aware tokenizer: identifiers kept whole and split into their words.

`Table.group_by` gives `table.group_by`, `table`, `group_by`, `group`, `by`; `GroupedTable`
gives `groupedtable`, `group`, `table`; plain words are lowercased and lightly stemmed so that
"delays" meets "delay". Whole identifiers are never stemmed: `isnull` must not become `isnul`.
"""

from __future__ import annotations

import re

TOKENIZER_VERSION = 1

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be been but can do does did for from has have how i if in into is it "
    "its me my no not of on or our so such that the their them then there these they this "
    "those to was we were what when where which while who whom why will with you your "
    "show give list find return get please also all any each per many much".split()
)
# Words every docstring carries; they only add length.
_DOC_NOISE = frozenset({"parameters", "returns", "examples", "expr", "expression", "ibis"})


def tokenize(text: str) -> list[str]:
    """Tokens for BM25, in order, with repeats."""
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        parts = word.split(".")
        if len(parts) > 1:
            out.append(word.lower())
        for part in parts:
            out.extend(_part_tokens(part))
    return out


def _part_tokens(part: str) -> list[str]:
    subwords = [w.lower() for piece in part.split("_") for w in _CAMEL.findall(piece)]
    whole = part.lower().strip("_")
    if len(subwords) <= 1:
        # A plain word: stem it, unless it is an identifier we must keep exact.
        if not whole or whole in STOPWORDS or len(whole) < 2 or whole.isdigit():
            return []
        return [stem(whole)]
    tokens = [whole]
    tokens += [stem(w) for w in subwords if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]
    return tokens


def stem(word: str) -> str:
    """Strip a plural or verb ending; crude on purpose (applied alike to docs and queries)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def plain_tokens(text: str) -> list[str]:
    """The baseline: lowercased whitespace tokens."""
    return text.lower().split()
