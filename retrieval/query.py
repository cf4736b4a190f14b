"""Query building for the two moments the agent retrieves: a question, and a tool error."""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable

from retrieval.index import CLAUSE, NESTED
from retrieval.tokens import tokenize
from retrieval.vocab import FOREIGN, IBIS_RENAMED, PHRASES

# "'Table' object has no attribute 'groupby'", "Table object has no attribute 'sort', did you
# mean 'order_by'", "GroupedTable has no attribute mean"
_NO_ATTR = re.compile(
    r"'?([\w.]+)'? (?:object )?has no attribute '?(\w+)'?(?:, did you mean '(\w+)')?"
)
# "Table.join() got an unexpected keyword argument 'on'", "Table.value_counts() takes 1 ..."
_CALL_PROBLEM = re.compile(r"(\w+)\.(\w+)\(\) (?:got an unexpected keyword argument '(\w+)')?")
_NAME = re.compile(r"name '(\w+)' is not defined")
_NO_COLUMN = re.compile(r"Column '\w+' is not found")
_NOT_ALLOWED = re.compile(r"attribute '(\w+)' is not allowed")
_TRUTH = re.compile(r"truth value", re.I)
# pandas / polars accessors: the method the model meant follows them in the code (.str.upper)
_ACCESSORS = {"str", "dt", "cat", "list", "arr", "struct"}

# A receiver type named by an error -> the corpus classes whose methods it has. Naming them as
# `Class.method` lets an exact id token pick the right doc among same-named ones.
_FAMILIES: list[tuple[str, tuple[str, ...]]] = [
    ("groupedtable", ("GroupedTable",)),
    ("table", ("Table", "Expr")),
    ("join", ("Table", "Join", "Expr")),
    ("string", ("StringValue", "Value", "Column")),
    ("integer", ("IntegerValue", "IntegerColumn", "NumericValue", "NumericColumn", "Value",
                 "Column")),
    ("floating", ("FloatingValue", "NumericValue", "NumericColumn", "Value", "Column")),
    ("decimal", ("DecimalValue", "NumericValue", "NumericColumn", "Value", "Column")),
    ("boolean", ("BooleanValue", "BooleanColumn", "NumericValue", "NumericColumn", "Value",
                 "Column")),
    ("timestamp", ("TimestampValue", "DateValue", "TimeValue", "Value", "Column")),
    ("date", ("DateValue", "Value", "Column")),
    ("time", ("TimeValue", "Value", "Column")),
    ("interval", ("IntervalValue", "Value", "Column")),
    ("array", ("ArrayValue", "Value", "Column")),
    ("map", ("MapValue", "Value", "Column")),
    ("struct", ("StructValue", "Value", "Column")),
    ("json", ("JSONValue", "Value", "Column")),
]
TEMPORAL = ("timestamp", "date", "time")
# How much more the names of the right API count than the words around them.
STRONG = 3


def question_query(question: str, schema_terms: Iterable[str] = ()) -> str:
    """Search text for a question: its words, the API words its phrasing implies, and the
    types of the columns it mentions, as clauses (see Index.search). `schema_terms` are
    "table" or "table.column type" strings (see `schema_terms`); column names themselves are
    left out, as they name data, not API."""
    text = question.lower()
    extra = [words for pattern, words in PHRASES if pattern.search(text)]
    columns, tables = _mentions(text, schema_terms)
    # Temporal types point at methods (year(), truncate, delta), nested ones at whole doc
    # families (see Index.search); numbers and strings are mostly grouped, filtered or
    # compared, which the phrasing already says.
    extra += sorted({_type_word(t) for t in columns.values()} & {*TEMPORAL, *NESTED.values()})
    if len(tables) > 1:
        extra.append("join")
    data_names = {t for name in [*columns, *tables] for t in tokenize(name)}
    words = [t for t in tokenize(question) if t not in data_names]
    # The whole question first, then one clause per operation it implies.
    clauses = [" ".join([*words, *extra]), *dict.fromkeys(extra)]
    return CLAUSE.join(c for c in clauses if c)


def error_query(error_line: str, code: str = "", schema_terms: Iterable[str] = ()) -> str:
    """Search text for a failed tool call: the API the error points at, weighted up and
    qualified by the receiver's type when the error names it, plus the receiver's type words;
    falls back to the methods the program calls. Empty when the error is about data, not
    API: a column that does not exist (or, given `schema_terms`, a misspelt column name)."""
    names: list[str] = []  # API names the fix probably uses
    owners: tuple[str, ...] = ()  # classes to qualify them with
    weak: list[str] = []
    if _NO_COLUMN.search(error_line):
        return ""
    if m := _NO_ATTR.search(error_line):
        receiver, attr, suggestion = m.groups()
        family, owners = _family(receiver)
        if family == "table" and _is_column_typo(attr, schema_terms):
            return ""
        if suggestion:
            names.append(suggestion)
        if family == "ibis":  # `ibis` in the sandbox is a namespace of the top-level functions
            names += IBIS_RENAMED[attr].split() if attr in IBIS_RENAMED else _translate(attr)
            owners = ("ibis",)
        elif family == "groupedtable":  # reductions on a grouped table go inside aggregate
            names += ["aggregate", *_translate(attr)]
        elif attr in _ACCESSORS and (after := re.findall(rf"\.{attr}\.(\w+)", code)):
            names += [n for a in after for n in _translate(a)]
        else:
            names += _translate(attr)
        weak += [attr, family]
    elif m := _CALL_PROBLEM.search(error_line):
        owner, method, keyword = m.groups()
        family, _ = _family(owner)
        names += [method, *_translate(method)]
        owners = (owner,)
        weak.append(family)
        if keyword and keyword in FOREIGN:  # `ascending=False`: the fix is desc()
            names += _translate(keyword)
        elif keyword:
            weak.append(keyword)
    elif m := _NAME.search(error_line):
        # A bare name: an ibis function used without `ibis.`, or a column used without `_.`
        name = m.group(1)
        if name in IBIS_RENAMED or name in FOREIGN:
            names += IBIS_RENAMED.get(name, FOREIGN.get(name, "")).split()
        else:
            names.append("ibis._")
        weak += [name, "deferred column"]
    elif m := _NOT_ALLOWED.search(error_line):
        names += _translate(m.group(1))
    elif _TRUTH.search(error_line):
        names += ["and_", "or_"]
        weak.append("predicates combine filter")
    if not names:
        names = called_methods(code)
        weak.append(error_line)
    names = list(dict.fromkeys(n for n in names if n))
    qualified = [f"{o}.{n}" for o in owners for n in names if "." not in n]
    return " ".join([*(names * STRONG), *qualified, *weak])


def _is_column_typo(name: str, schema_terms: Iterable[str]) -> bool:
    columns = [t.partition(" ")[0].partition(".")[2] for t in schema_terms]
    return bool(difflib.get_close_matches(name, [c for c in columns if c], n=1, cutoff=0.8))


def called_methods(code: str) -> list[str]:
    """Names of the methods and ibis functions a program calls, in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return re.findall(r"\.(\w+)\(", code)
    return [n.func.attr for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]


def schema_terms(schema) -> list[str]:  # noqa: ANN001 - a tools.schema.Schema
    """The terms `question_query` takes, from an inspected schema."""
    terms = []
    for t in schema.tables:
        terms.append(t.name)
        terms += [f"{t.name}.{c.name} {c.type.lstrip('!')}" for c in t.columns]
    return terms


def _translate(name: str) -> list[str]:
    """Ibis names for a foreign name (groupby, sort_values, isIn); else its snake_case form."""
    key = name.lower()
    if key in FOREIGN:
        return FOREIGN[key].split()
    return [re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()]


def _family(receiver: str) -> tuple[str, tuple[str, ...]]:
    """("string", (StringValue, ...)) for "StringColumn"; ("ibis", ()) for the namespace."""
    base = receiver.rsplit(".", 1)[-1].lower()
    if base in ("simplenamespace", "module"):
        return "ibis", ()
    for prefix, classes in _FAMILIES:
        if base.startswith(prefix):
            return prefix, classes
    return base, ()


def _mentions(text: str, schema_terms: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """Columns ({name: type}) and tables the question names; a column adds its table only
    when no other table has a column of that name."""
    columns: dict[str, str] = {}
    tables: set[str] = set()
    owners: dict[str, set[str]] = {}
    for term in schema_terms:
        name, _, dtype = term.partition(" ")
        table, _, column = name.partition(".")
        if column:
            owners.setdefault(column, set()).add(table)
            if _named(column, text):
                columns[column] = dtype
        elif _named(table, text) or _named(table.rstrip("s"), text):
            tables.add(table)
    for column in columns:
        if len(owners[column]) == 1:
            tables |= owners[column]
    return columns, tables


def _named(name: str, text: str) -> bool:
    return bool(name) and re.search(rf"\b{re.escape(name.replace('_', ' '))}\b|\b{name}\b",
                                    text) is not None


def _type_word(dtype: str) -> str:
    base = dtype.lower().lstrip("!").split("<")[0].split("(")[0]
    for prefix in (*TEMPORAL, *NESTED.values()):
        if base.startswith(prefix):
            return prefix
    return base
