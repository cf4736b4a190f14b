"""Labels for the retrieval set: which corpus docs are relevant to a program.

The relevant docs for a question are the Ibis APIs its gold program calls, found by walking
the program's AST. A call's receiver type is unknown statically (`x.count()` may be
Table.count, Column.count or GroupedTable.count), so a called name maps to every corpus doc
with that name: `.count` -> all methods or properties named (or aliased) `count`. Calls on
`ibis` map to the top-level function, calls on `ibis.selectors` to the selector. This is
sound (the doc actually used is always in the set) but loose: a query counts as a hit for a
name when any doc in its set is retrieved. Notes are never labels.
"""

from __future__ import annotations

import ast


def call_keys(code: str) -> list[str]:
    """`.name` for a method call, `ibis.name` / `selectors.name` for module functions."""
    keys: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        recv, attr = node.func.value, node.func.attr
        if isinstance(recv, ast.Name) and recv.id == "ibis":
            key = f"ibis.{attr}"
        elif (isinstance(recv, ast.Attribute) and recv.attr == "selectors"
              and isinstance(recv.value, ast.Name) and recv.value.id == "ibis"):
            key = f"selectors.{attr}"
        else:
            key = f".{attr}"
        if key not in keys:
            keys.append(key)
    return keys


def key_docs(key: str, docs: list) -> set[str]:  # noqa: ANN001 - retrieval.Doc records
    """The ids of the docs a key stands for (empty when the corpus lacks it)."""
    if key.startswith("."):
        name = key[1:]
        return {d.id for d in docs
                if d.source == "api" and d.kind in ("method", "property") and name in d.attrs}
    return {d.id for d in docs if d.source == "api" and d.id == key}
