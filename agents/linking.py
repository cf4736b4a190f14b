"""Schema linking: the tables a question is about, so prompts show only those.

A small model reads a shorter prompt faster and better, and a 7B model loses nothing when a
database has dozens of tables. Linking errs on the side of keeping: any overlap between the
question's words and a table's name, column names or common values keeps the table, and a
question that matches nothing keeps them all.
"""

from __future__ import annotations

import re

from tools.schema import Schema

_STOP = frozenset("""a an and any are as at be by did do does each for from had has have how in
is it its many me more most much number of on or per show than that the their them there these
this those to total was were what when where which who whose with all list give find""".split())


def words(text: str) -> set[str]:
    """Lowercase word stems of `text`, identifiers split at _ and camelCase."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    out = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _STOP or len(word) < 2:
            continue
        out.add(_stem(word))
    return out


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _overlap(question: set[str], vocab: set[str]) -> bool:
    if question & vocab:
        return True
    # prefixes cover abbreviations: temp ~ temperature, visib ~ visibility
    return any(len(v) >= 4 and q.startswith(v) or len(q) >= 4 and v.startswith(q)
               for q in question for v in vocab)


def link_tables(question: str, schema: Schema) -> list[str]:
    """Names of the tables the question may need (all of them when nothing matches)."""
    asked = words(question)
    linked = []
    for table in schema.tables:
        vocab = words(table.name)
        for column in table.columns:
            vocab |= words(column.name)
            vocab |= {v.lower() for v in column.values or []}
        if _overlap(asked, vocab):
            linked.append(table.name)
    if not linked:
        return [t.name for t in schema.tables]
    # A table whose foreign keys join two linked tables is how they connect: keep it too.
    return [t.name for t in schema.tables if t.name in linked or len(
        {fk.ref_table for fk in t.foreign_keys} & set(linked)) >= 2]
