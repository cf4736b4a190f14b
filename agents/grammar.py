"""The grammar of a reply that holds one program over one database, for constrained decoding.

A Lark grammar (llguidance's dialect) built from the database's schema and the harvested Ibis
API docs (`retrieval`): a ```python block of assignments and one final expression, in which
- a name is a table, `ibis`, `_`, or a variable (lowercase, two letters or more, not a Python
  keyword or builtin, not a near-miss of a table's name: `flight`, `Flights`);
- a call is a method call (`.name(...)`, names from the docs) or `ibis.function(...)`: a table,
  a variable or a builtin is never called (`flights(...)`, `len(t)`, `print(...)`);
- the first method called on a table is one of Table's (`flights.query(...)` is out, though
  strings have a `query`);
- an attribute without a call is a column (exact case), a documented property, or a derived
  name; a string argument of `select`, `group_by`, `order_by`, `drop`, `relocate`,
  `ibis.desc`/`ibis.asc` or a subscript is a column or a derived name;
- `and`, `or`, `not`, `in`, `is`, lambdas, comprehensions and comments are out (Ibis combines
  conditions with `&`, `|`, `~` and tests membership with `isin`).

Where it over-approximates, and why: types are not tracked past a table's first method, so any
documented method may follow any expression (tracking each chain's type would need the
schema's types threaded through every method's return type); a derived name (a column made by
`agg`, `mutate`, ...) is any lowercase name that is not a table method, a pandas name or a
near-miss of a column (one edit, a swap, a change of case), since a context-free grammar cannot
remember which keyword arguments came earlier; variables are not checked to be assigned before
use; operators are one flat level (Python decides precedence); whitespace, newlines included,
may fall between any two tokens. Where it is narrower than Python: derived names and variables
are lowercase, one-letter variables are out (the docs' generic `t`), and so is `.str` (pandas'
accessor; JSON columns lose it).
"""

from __future__ import annotations

import hashlib
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tools.policy import SAFE_BUILTINS, denied_attribute
from tools.schema import Schema

GRAMMAR_VERSION = 1  # bump when the rules below change: cached grammars are keyed by it
EDITED = 4  # names this long or longer have their one-edit misspellings ruled out
# Methods whose string arguments name columns.
COLUMN_ARGS = ("select", "group_by", "order_by", "drop", "relocate")
# Names small models bring from pandas and SQL; never a method, column or derived name here.
PANDAS = ("groupby", "sort_values", "sort_index", "query", "merge", "loc", "iloc", "at", "iat",
          "reset_index", "set_index", "values", "apply", "size", "shape", "unique", "to_list",
          "tolist", "idxmax", "idxmin", "nlargest", "nsmallest", "dt", "str", "where", "sort",
          "sort_by", "orderby", "group", "having", "len", "length", "iterrows", "item")
# Names a model uses for a table that does not exist (the docs' generic table is `t`).
NOT_VARIABLES = ("df", "data", "table", "tbl", "conn", "con", "db", "pd", "np", "self", "ibis")
# ibis functions that make or inspect tables and types rather than expressions over them.
NOT_FUNCTIONS = ("table", "memtable", "to_sql", "infer_dtype", "infer_schema", "schema", "dtype")


@dataclass(frozen=True)
class Vocabulary:
    """The Ibis API names a program may use, from the harvested docs."""

    methods: frozenset[str]
    table_methods: frozenset[str]  # those of Table (and Expr): `t.<name>` is never a column
    properties: frozenset[str]
    functions: frozenset[str]  # ibis.<name>


@cache
def api_vocabulary() -> Vocabulary:
    import retrieval

    docs = retrieval.load_index().docs

    def names(kind: str) -> frozenset[str]:
        return frozenset(a for d in docs if d.kind == kind for a in d.attrs
                         if a.isidentifier() and not denied_attribute(a))

    tables = frozenset(a for d in docs if d.kind == "method"
                       and {"Table", "Expr"} & set(d.owners) for a in d.attrs)
    return Vocabulary(methods=names("method"), table_methods=tables & names("method"),
                      properties=names("property") - set(PANDAS),
                      functions=names("function") - set(NOT_FUNCTIONS))


def program_grammar(schema: Schema, vocabulary: Vocabulary | None = None) -> str:
    """The Lark grammar of a reply over `schema`: "```python", the program, "```"."""
    tables, columns = _schema_key(schema)
    return _build(tables, columns, vocabulary or api_vocabulary())


def grammar_digest(grammar: str) -> str:
    return hashlib.sha256(f"{GRAMMAR_VERSION}\n{grammar}".encode()).hexdigest()[:12]


def accepts(grammar: str, text: str) -> bool:
    """Whether `text` is a whole reply the grammar allows (bytes, no model tokenizer needed)."""
    import llguidance

    matcher = llguidance.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    if matcher.is_error():
        raise ValueError(f"bad grammar: {matcher.get_error()}")
    data = list(text.encode())
    return matcher.consume_tokens(data) and matcher.is_accepting()


class _Bytes:
    """A tokenizer with one token per byte (and an end token), for checking text."""

    eos_token_id, bos_token_id = 256, None
    tokens = [bytes([b]) for b in range(256)] + [b"<eos>"]
    special_token_ids = [256]

    def __call__(self, data: bytes | str) -> list[int]:
        return list(data.encode() if isinstance(data, str) else data)


@cache
def _byte_tokenizer():  # noqa: ANN202 - llguidance.LLTokenizer, imported lazily
    import llguidance
    from llguidance import TokenizerWrapper

    return llguidance.LLTokenizer(TokenizerWrapper(_Bytes()), slices=[])


def _schema_key(schema: Schema) -> tuple[tuple[str, ...], tuple[str, ...]]:
    tables = tuple(sorted(t.name for t in schema.tables if t.name.isidentifier()))
    columns = tuple(sorted({c.name for t in schema.tables for c in t.columns
                            if c.name.isidentifier()}))
    return tables, columns


@cache  # per schema content: one build per database and process
def _build(tables: tuple[str, ...], columns: tuple[str, ...], vocab: Vocabulary) -> str:
    methods = vocab.methods
    column_methods = sorted(methods & set(COLUMN_ARGS))
    plain_methods = sorted(methods - set(COLUMN_ARGS))
    functions = sorted(vocab.functions - {"desc", "asc"})
    reserved = (set(keyword.kwlist) | set(keyword.softkwlist) | SAFE_BUILTINS
                | {"print", "True", "False", "None"})
    derived_out = [*vocab.table_methods, *PANDAS, *reserved, *(near_misses(c) for c in columns)]
    variable_out = [*reserved, *NOT_VARIABLES, *tables, *(near_misses(t) for t in tables)]
    name = r"/[a-z][a-z0-9_]*/"
    return "\n".join([
        "%ignore /[ \\t\\r\\n]+/",
        'start: "```python" program "```"',
        "program: assign* (expr | assign)",
        'assign: VARIABLE "=" expr',
        "expr: unary (BINOP unary)*",
        'unary: UNARY* primary',
        "primary: atom trailer* | TABLE [table_trailer trailer*]",
        "column_primary: column_atom trailer* | TABLE [table_trailer trailer*]",
        "column_expr: column_primary (BINOP unary)*",
        'trailer: "." METHOD call | "." COLUMN_METHOD column_call | "." attribute '
        '| "[" index "]"',
        # A table's own methods, columns and subscripts: `flights.query(...)` is out although
        # `query` is a string method.
        'table_trailer: "." TABLE_METHOD call | "." COLUMN_METHOD column_call | "." COLUMN '
        '| "." DERIVED | "[" index "]"',
        'call: "(" [arg ("," arg)* [","]] ")"',
        'column_call: "(" [column_arg ("," column_arg)* [","]] ")"',
        'arg: expr | KEYWORD "=" expr | "*" expr | "**" expr',
        'column_arg: column_ref | KEYWORD "=" expr | "[" [column_ref ("," column_ref)* [","]] "]"',
        "column_ref: COLUMN_STRING | column_expr",
        'index: COLUMN_STRING | column_expr | NUMBER | [unary] ":" [unary]',
        "attribute: COLUMN | PROPERTY | DERIVED",
        "atom: column_atom | STRING | NUMBER",
        'column_atom: "_" | VARIABLE | "ibis" "." FUNCTION call '
        '| "ibis" "." ORDER "(" column_ref ")" | "(" ")" | "(" expr ")" '
        '| "(" expr "," [expr ("," expr)* [","]] ")" | "[" [expr ("," expr)* [","]] "]" '
        '| "{" [pair ("," pair)* [","]] "}" | CONSTANT',
        'pair: (STRING | NUMBER) ":" expr',
        f"TABLE: {_alternatives(tables)}",
        f"COLUMN: {_alternatives(columns)}",
        f"METHOD: {_alternatives(plain_methods)}",
        f"COLUMN_METHOD: {_alternatives(column_methods)}",
        f"TABLE_METHOD: {_alternatives(sorted(vocab.table_methods - set(COLUMN_ARGS)))}",
        f"FUNCTION: {_alternatives(functions)}",
        'ORDER: "desc" | "asc"',
        f"PROPERTY: {_alternatives(sorted(vocab.properties))}",
        f"DERIVED: {name} & ~/{_regex(derived_out)}/",
        f"VARIABLE: /[a-z][a-z0-9_]+/ & ~/{_regex(variable_out)}/",
        r"KEYWORD: /[A-Za-z_][A-Za-z0-9_]*/",
        f'COLUMN_STRING: /"({_regex(columns)})"/ | /\'({_regex(columns)})\'/ '
        f"| (/\"[a-z][a-z0-9_]*\"/ & ~/\"({_regex(derived_out)})\"/) "
        f"| (/'[a-z][a-z0-9_]*'/ & ~/'({_regex(derived_out)})'/)",
        r'STRING: /[rRbBuU]?"([^"\\\n]|\\.)*"/ | /[rRbBuU]?' + r"'([^'\\\n]|\\.)*'/",
        r"NUMBER: /[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?/ | /\.[0-9]+([eE][+-]?[0-9]+)?/",
        'CONSTANT: "True" | "False" | "None"',
        'UNARY: "-" | "+" | "~"',
        'BINOP: "+" | "-" | "*" | "/" | "//" | "%" | "**" | "&" | "|" | "^" | "==" | "!=" '
        '| "<" | "<=" | ">" | ">="',
    ]) + "\n"


def near_misses(name: str) -> str:
    """A regex for the names one edit or one swap of neighbours from `name`, or equal to it in
    another case (`Carrier`, `carier`, `carriers`, `carreir`); a name shorter than EDITED gets
    its case variants only.
    `name` itself matches too: the caller allows it where it is allowed."""
    char = "[A-Za-z0-9_]"
    any_case = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)
                       for c in name)
    forms = [any_case]
    if len(name) < EDITED:  # one edit from `lat` or `alt` is a word (`late`, `salt`)
        return any_case
    for i in range(len(name) + 1):
        head, tail = re.escape(name[:i]), name[i:]
        forms.append(f"{head}{char}{re.escape(tail)}")  # insertion
        if tail:
            forms.append(f"{head}{re.escape(tail[1:])}")  # deletion
            forms.append(f"{head}{char}{re.escape(tail[1:])}")  # substitution
        if len(tail) > 1:
            forms.append(f"{head}{re.escape(tail[1] + tail[0] + tail[2:])}")  # transposition
    return "|".join(forms)


def _regex(parts: Iterable[str]) -> str:
    """One alternation of regexes (plain names are escaped; near_misses output is kept)."""
    out = [p if any(c in p for c in "[]|\\") else re.escape(p) for p in parts if p]
    return "|".join(out) if out else "(?!)"


def _alternatives(names: Iterable[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return " | ".join(quoted) if quoted else '/(?!)/'
