"""Harmless scaffolding removed from a generated program before the tools see it.

Code models wrap an Ibis expression in a script: `import ibis`, a connection, `con.table("x")`,
`print(result)`, a trailing `.execute()`. None of it changes the answer, and failing the whole
program for it wastes a round, so it is rewritten here: ibis imports and `ibis.options` lines
dropped, connections dropped and their `.table("x")` lookups replaced by the table variable,
`print(x)` / `display(x)` statements replaced by `x`, materializing calls (`.execute()`,
`.to_pandas()`, ...) removed, a file reader or table constructor naming a table
(`ibis.read_csv("flights.csv")`, `Table("flights")`) replaced by that table, a method chain
broken over lines without parentheses joined, and a program that ends by assigning a variable
(`n = flights.count()`) given that variable as its value. Table names written in the wrong
case are fixed when the match is unique. Everything else is left exactly as written (comments too):
this is a courtesy, not a security layer; the policy check and the sandbox still see the
result and judge it alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

_MATERIALIZE = frozenset({"execute", "to_pandas", "to_pyarrow", "to_polars", "collect",
                          "show", "head_pandas"})
_PRINTERS = frozenset({"print", "display"})


def tidy(code: str, tables: Iterable[str]) -> str:
    """`code` without scaffolding; unchanged if it does not parse or nothing applies."""
    names = {t.lower(): t for t in tables}
    for _ in range(8):  # each pass applies the outermost edits; nested ones come next pass
        tidied = _pass(code, names)
        if tidied == code:
            break
        code = tidied
    return code


def _pass(code: str, names: dict[str, str]) -> str:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        joined = _join_chains(code)
        return joined if joined != code and parses(joined) else code
    offsets = [0]
    for line in code.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))

    def span(node: ast.AST) -> tuple[int, int]:
        return (offsets[node.lineno - 1] + node.col_offset,
                offsets[node.end_lineno - 1] + node.end_col_offset)

    def text(node: ast.AST) -> str:
        start, end = span(node)
        return code[start:end]

    edits: list[tuple[int, int, str]] = []
    connections: set[str] = set()
    assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    last = tree.body[-1] if tree.body else None
    if (isinstance(last, ast.Assign) and len(last.targets) == 1
            and isinstance(last.targets[0], ast.Name) and last.targets[0].id != "result"):
        edits.append((len(code), len(code), f"\n{last.targets[0].id}"))  # its value is that
    for stmt in tree.body:
        if _drop(stmt, connections):
            edits.append(_line_span(stmt, offsets, code) + ("",))
        elif (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
              and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id in _PRINTERS
              and len(stmt.value.args) == 1 and not stmt.value.keywords):
            edits.append((*span(stmt), text(stmt.value.args[0])))
    for node in ast.walk(tree):
        table = _table_lookup(node, connections, names)
        if table is not None:
            edits.append((*span(node), table))
        elif (isinstance(node, ast.Call) and not node.args and not node.keywords
              and isinstance(node.func, ast.Attribute) and node.func.attr in _MATERIALIZE):
            edits.append((*span(node), text(node.func.value)))
        elif (isinstance(node, ast.Name) and node.id not in assigned and node.id not in names
              and node.id.lower() in names):
            edits.append((*span(node), names[node.id.lower()]))
    chosen: list[tuple[int, int, str]] = []
    for edit in sorted(edits, key=lambda e: (e[0], -e[1])):  # outermost first
        if not chosen or edit[0] >= chosen[-1][1]:
            chosen.append(edit)
    if not chosen:
        return code
    out = code
    for start, end, new in reversed(chosen):
        out = out[:start] + new + out[end:]
    out = out.strip("\n")
    return out + "\n" if out.strip() else code


def _join_chains(code: str) -> str:
    """A method chain split over lines without parentheses (`flights` / `  .filter(...)`),
    which Python reads as an indented statement: each `.` line joined to the one above."""
    out: list[str] = []
    for line in code.splitlines():
        if line.lstrip().startswith(".") and out and out[-1].strip():
            out[-1] = out[-1].rstrip() + line.strip()
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def parses(code: str) -> bool:
    """Whether `code` is Python (any program, not only an allowed one)."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _drop(stmt: ast.stmt, connections: set[str]) -> bool:
    """An ibis import, an `ibis.options` setting, or a connection assignment."""
    if isinstance(stmt, ast.Import):
        return all(a.name == "ibis" or a.name.startswith("ibis.") for a in stmt.names)
    if isinstance(stmt, ast.ImportFrom):
        return (stmt.module or "").split(".")[0] == "ibis"
    if isinstance(stmt, ast.Assign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if any(_dotted(t).startswith("ibis.options") for t in targets):
            return True
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                and _dotted(stmt.value.func).startswith("ibis.")
                and _dotted(stmt.value.func).endswith("connect")
                and all(isinstance(t, ast.Name) for t in stmt.targets)):
            connections.update(t.id for t in stmt.targets)
            return True
    return False


def _table_lookup(node: ast.AST, connections: set[str], names: dict[str, str]) -> str | None:
    """`con.table("x")`, `con.tables.x`, `con.tables["x"]`, `ibis.table("x", ...)`,
    `Table("x")` or a reader of a file named after a table (`ibis.read_csv("x.csv")`) -> `x`."""
    wanted = None
    first = (node.args[0].value if isinstance(node, ast.Call) and node.args
             and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
             else None)
    func = _dotted(node.func) if isinstance(node, ast.Call) else ""
    if first is not None and (func in ("ibis.table", "Table", "ibis.Table")
                              or func.rsplit(".", 1)[-1].startswith("read_")):
        wanted = first.rsplit("/", 1)[-1].split(".", 1)[0]  # "data/flights.csv" -> flights
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "table" and len(node.args) == 1 and not node.keywords \
            and first is not None and _dotted(node.func.value) in connections:
        wanted = first
    elif isinstance(node, ast.Attribute) and _dotted(node.value) in {f"{c}.tables"
                                                                       for c in connections}:
        wanted = node.attr
    elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "tables" and _dotted(node.value.value) in connections \
            and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        wanted = node.slice.value
    return names.get(wanted.lower()) if isinstance(wanted, str) else None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _line_span(stmt: ast.stmt, offsets: list[int], code: str) -> tuple[int, int]:
    """A statement's whole lines, newline included; only the statement (and a following `;`)
    when other code shares its lines."""
    start = offsets[stmt.lineno - 1]
    end = offsets[stmt.end_lineno] if stmt.end_lineno < len(offsets) else len(code)
    inner_start = start + stmt.col_offset
    inner_end = offsets[stmt.end_lineno - 1] + stmt.end_col_offset
    if code[start:inner_start].strip() or code[inner_end:end].strip():
        rest = code[inner_end:end]
        skip = len(rest) - len(rest.lstrip(" ;")) if rest.lstrip().startswith(";") else 0
        return inner_start, inner_end + skip
    return start, end
