"""Static allow-list check of a generated Ibis program, run before any of it executes.

A program is a few Python statements over the tables (bound by name), `ibis` and `_`. Its value
is the last bare expression, or the variable `result`. The check is the first of two layers; the
second is the process the program runs in (see `tools.sandbox`). It is a syntactic filter, so it
rejects by the *name* of an attribute whatever object it is taken from.
"""

from __future__ import annotations

import ast
import re

MAX_CODE_CHARS = 20_000
MAX_NODES = 5_000

# Only these syntax nodes may appear: expressions, assignments and comprehensions. No loops,
# function or class definitions, imports, try/with/raise, del, global, await, yield or walrus.
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.Name, ast.Load, ast.Store,
    ast.Attribute, ast.Call, ast.keyword, ast.Starred, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript,
    ast.Slice, ast.Lambda, ast.arguments, ast.arg, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.JoinedStr, ast.FormattedValue,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr,
    ast.BitXor, ast.Invert, ast.Not, ast.UAdd, ast.USub, ast.And, ast.Or, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
)

# Builtins the program may call; everything else in `builtins` is absent at run time.
SAFE_BUILTINS: frozenset[str] = frozenset({
    "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "len", "list",
    "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum", "tuple",
    "zip",
})

_DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "globals",
    "locals", "vars", "dir", "type", "object", "super", "breakpoint", "input", "help", "exit",
    "quit", "memoryview", "bytearray", "classmethod", "staticmethod", "property", "print",
    "id", "hash", "iter", "next", "callable", "isinstance", "issubclass",
})

# Attributes that reach a backend, raw SQL, files, the interpreter's frames, or string
# formatting (which can walk attributes by name at run time).
_DENIED_ATTRS = frozenset({
    "sql", "raw_sql", "execute", "op", "get_backend", "set_backend", "backend", "con",
    "connect", "cache", "create_table", "create_view", "create_database", "insert", "upsert",
    "drop_table", "drop_view", "truncate_table", "attach", "detach", "load_extension",
    "install", "register", "udf", "options", "util", "visualize", "preview", "format",
    "format_map", "environ", "system", "popen", "mro", "read", "write", "load", "save",
    "connection", "unbind", "expr", "backends", "common", "config",
    # the interpreter's own doors, reached as attributes of a module or object
    "builtins", "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals",
    "locals", "vars", "breakpoint", "modules",
    # SQL parsing, downloads and code generation in the ibis namespace
    "parse_sql", "examples", "decompile",
})
_DENIED_ATTR_PATTERNS = (
    re.compile(r"^_"),  # dunders and private members
    re.compile(r"^read_"),  # ibis.read_csv, read_parquet, ...
    re.compile(r"^(gi|cr|ag|f|tb|co)_"),  # generator / frame / traceback / code internals
    re.compile(r"^to_(?!date$|timestamp$|time$|sql$)"),  # to_csv, to_parquet, to_pandas, ...
)


class PolicyViolation(Exception):
    """The program uses something outside the allow-list."""


def check(code: str) -> ast.Module:
    """Parse and check `code`; return its AST or raise PolicyViolation / SyntaxError."""
    if not code.strip():
        raise PolicyViolation("empty program: write an Ibis expression over the tables")
    if len(code) > MAX_CODE_CHARS:
        raise PolicyViolation(f"program too long ({len(code)} chars, limit {MAX_CODE_CHARS})")
    tree = ast.parse(code, filename="<program>", mode="exec")
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise PolicyViolation(f"program too large ({len(nodes)} syntax nodes, limit {MAX_NODES})")
    for node in nodes:
        _check_node(node)
    return tree


def _check_node(node: ast.AST) -> None:
    where = f" (line {node.lineno})" if hasattr(node, "lineno") else ""
    if isinstance(node, ast.Import | ast.ImportFrom):
        raise PolicyViolation(f"imports are not allowed{where}; use ibis, _ and the tables")
    if not isinstance(node, _ALLOWED_NODES):
        raise PolicyViolation(f"{type(node).__name__} statements are not allowed{where}")
    if isinstance(node, ast.Name) and (node.id in _DENIED_NAMES or node.id.startswith("__")):
        raise PolicyViolation(f"name {node.id!r} is not allowed{where}")
    if isinstance(node, ast.Attribute) and denied_attribute(node.attr):
        raise PolicyViolation(f"attribute {node.attr!r} is not allowed{where}")
    if isinstance(node, ast.arg) and node.arg.startswith("__"):
        raise PolicyViolation(f"name {node.arg!r} is not allowed{where}")


def denied_attribute(name: str) -> bool:
    return name in _DENIED_ATTRS or any(p.search(name) for p in _DENIED_ATTR_PATTERNS)
