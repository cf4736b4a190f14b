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
  conditions with `&`, `|`, `~` and tests membership with `isin`);
- the scaffolding `agents.tidy` removes is let through: `import ibis` and `from ibis import _`
  lines first, `print(...)` around the value, `.execute()` / `.to_pandas()`.

Where it over-approximates, and why: types are not tracked past a table's first method, so any
documented method may follow any expression (tracking each chain's type would need the
schema's types threaded through every method's return type); a derived name (a column made by
`agg`, `mutate`, ...) is any lowercase name that is not a table method, a pandas name or a
near-miss of a column (one edit, a swap, a change of case), since a context-free grammar cannot
remember which keyword arguments came earlier; a variable is not checked to be assigned before
use, except in the first statement, which reads none; operators are one flat level (Python
decides precedence); a newline may also come before a `.method` outside brackets
(`agents.tidy` joins such a chain). Where it is narrower than Python: derived names and
variables are lowercase and at most MAX_NAME long, one-letter variables are out (the docs'
generic `t`), so are variables starting with a statement keyword (`def`, `import`, `print`,
...: `default_x` too) and derived names starting with a pandas name, and so is `.str` (pandas'
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

GRAMMAR_VERSION = 6  # bump when the rules below change: cached grammars are keyed by it
EDITED = 4  # names this long or longer have their one-edit misspellings ruled out
# Methods whose string arguments name columns.
COLUMN_ARGS = ("select", "group_by", "order_by", "drop", "relocate")
# Names small models bring from pandas and SQL; never a method, column or derived name here.
PANDAS = ("groupby", "sort_values", "sort_index", "query", "merge", "loc", "iloc", "at", "iat",
          "reset_index", "set_index", "values", "apply", "size", "shape", "unique", "to_list",
          "tolist", "idxmax", "idxmin", "nlargest", "nsmallest", "dt", "str", "where", "sort",
          "sort_by", "orderby", "group", "having", "len", "length", "iterrows", "item")
MAX_NAME = 40  # characters of a variable or derived name; gold names are at most 20
# Statement keywords a variable name may not start with (`def`, `import`, ...).
STATEMENTS = ("def", "class", "import", "fromibis", "lambda", "return", "print")
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


def accepts(grammar: str, text: str, whole: bool = True) -> bool:
    """Whether `text` is a whole reply the grammar allows (bytes, no model tokenizer needed);
    with `whole` False, whether it is the start of one (a reply cut at max_tokens)."""
    import llguidance

    matcher = llguidance.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    if matcher.is_error():
        raise ValueError(f"bad grammar: {matcher.get_error()}")
    data = list(text.encode())
    return matcher.consume_tokens(data) and (matcher.is_accepting() or not whole)


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
    name = f"/[a-z][a-z0-9_]{{0,{MAX_NAME - 1}}}/"
    return "\n".join([
        # Newlines separate statements; inside brackets, and before a `.method`, they may fall
        # anywhere (`nl`), so `a = b()` cannot be read as `a = b` and a statement `()`.
        "%ignore /[ \\t]+/",
        # Scaffolding agents.tidy removes is let through rather than fought: a model that
        # opens with `import ibis` and is refused it wanders off into a name like `importibis`.
        'start: "```python" NL+ (SCAFFOLD lines)* program nl "```"',
        "program: last_0 | first | first lines (assign lines)* (last | assign)",
        "lines: NL [NL [NL]]",
        'last: expr | "print" "(" nl expr nl ")"',
        'last_0: expr_0 | "print" "(" nl expr_0 nl ")"',
        'SCAFFOLD: "import ibis" | "from ibis import _"',
        # A table name may be assigned to (`flights = flights.filter(...)`, legal Python):
        # refused it, the model wrote `flights ==(` and lost its way.
        'assign: (VARIABLE | TABLE) "=" expr',
        # The first statement reads no variable (none is assigned yet): a model reaching for
        # the docs' `t` cannot wander into `t_count = t_count`.
        'first: (VARIABLE | TABLE) "=" expr_0',
        "attribute: COLUMN | PROPERTY | DERIVED",
        *_expressions(""),
        *_expressions("_0", variables=False),
        # At most two: a model that will not close the block would add newlines to max_tokens.
        "nl: [NL [NL]]",
        r"NL: /\r?\n/",
        f"TABLE: {_alternatives(tables)}",
        f"COLUMN: {_alternatives(columns)}",
        f"METHOD: {_alternatives(plain_methods)}",
        f"COLUMN_METHOD: {_alternatives(column_methods)}",
        f"TABLE_METHOD: {_alternatives(sorted(vocab.table_methods - set(COLUMN_ARGS)))}",
        f"FUNCTION: {_alternatives(functions)}",
        'ORDER: "desc" | "asc"',
        'MATERIALIZE: "execute" | "to_pandas"',  # dropped by agents.tidy
        f"PROPERTY: {_alternatives(sorted(vocab.properties))}",
        f"DERIVED: {name} & ~/{_regex(derived_out)}/ & ~/({_regex(PANDAS)})_.*/",
        # Not a statement keyword run on into a name (`defcalculate_...` where the model
        # wanted `def`), and not longer than a name is (runaway names ran to max_tokens).
        f"VARIABLE: /[a-z][a-z0-9_]{{1,{MAX_NAME - 1}}}/ & ~/{_regex(variable_out)}/ "
        f"& ~/({_regex(STATEMENTS)}).*/",
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


def _expressions(s: str, variables: bool = True) -> list[str]:
    """The expression rules, their names suffixed with `s`; without `variables`, no name but
    a table, `ibis` and `_` starts an expression."""
    variable = '"_" | VARIABLE' if variables else '"_"'
    return [
        f"expr{s}: unary{s} (nl BINOP nl unary{s})*",
        f"unary{s}: UNARY* primary{s}",
        f"primary{s}: atom{s} trailer{s}* | TABLE [table_trailer{s} trailer{s}*]",
        f"column_primary{s}: column_atom{s} trailer{s}* | TABLE [table_trailer{s} trailer{s}*]",
        f"column_expr{s}: column_primary{s} (nl BINOP nl unary{s})*",
        f'trailer{s}: nl "." METHOD call{s} | nl "." COLUMN_METHOD column_call{s} '
        f'| nl "." attribute | "[" nl index{s} nl "]" | nl "." MATERIALIZE "(" ")"',
        # A table's own methods, columns and subscripts: `flights.query(...)` is out although
        # `query` is a string method.
        f'table_trailer{s}: nl "." TABLE_METHOD call{s} | nl "." COLUMN_METHOD column_call{s} '
        f'| nl "." COLUMN | nl "." DERIVED | "[" nl index{s} nl "]"',
        f'call{s}: "(" nl [{_items("arg" + s)}] nl ")"',
        f'column_call{s}: "(" nl [{_items("column_arg" + s)}] nl ")"',
        f'arg{s}: expr{s} | KEYWORD "=" nl expr{s} | "*" expr{s} | "**" expr{s}',
        f'column_arg{s}: column_ref{s} | KEYWORD "=" nl expr{s} '
        f'| "[" nl [{_items("column_ref" + s)}] nl "]"',
        f"column_ref{s}: COLUMN_STRING | column_expr{s}",
        f'index{s}: COLUMN_STRING | column_expr{s} | NUMBER | [unary{s}] ":" [unary{s}]',
        f"atom{s}: column_atom{s} | STRING | NUMBER",
        f'column_atom{s}: {variable} | "ibis" "." FUNCTION call{s} '
        f'| "ibis" "." ORDER "(" nl column_ref{s} nl ")" | "(" nl expr{s} nl ")" '
        f'| "(" nl expr{s} nl "," nl [{_items("expr" + s)}] nl ")" '
        f'| "[" nl [{_items("expr" + s)}] nl "]" | "{{" nl [{_items("pair" + s)}] nl "}}" '
        "| CONSTANT",
        f'pair{s}: (STRING | NUMBER) ":" nl expr{s}',
    ]


def _items(rule: str) -> str:
    """One or more `rule`s separated by commas, a trailing comma allowed, newlines anywhere."""
    return f'{rule} (nl "," nl {rule})* [nl ","]'


def _alternatives(names: Iterable[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return " | ".join(quoted) if quoted else '/(?!)/'
