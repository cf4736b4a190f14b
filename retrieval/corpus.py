"""Harvest the Doc corpus from the installed ibis package.

What is in it: public methods and properties of the expression types (Table, the value and
column types, GroupedTable, join-only members of Join), the top-level functions in
`ibis.__all__`, the selectors, the deferred `_`, plus our notes. What is left out, and why:
members the sandbox policy rejects (a model cannot use them), deprecated members (they teach
old names), geospatial types (no spatial extension in the sandbox, and names such as
`distance` or `length` collide with common column names), and members without a docstring.
`ibis.__all__` is walked rather than `inspect.getmembers(ibis)`, which triggers lazy backend
imports that fail.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from retrieval.doc import Doc
from retrieval.docstrings import clean, summary
from retrieval.notes import notes
from tools.policy import denied_attribute

CORPUS_VERSION = 2  # bump when harvesting or the notes change: the cached index rebuilds

# Expression classes by the short name docs use; members are taken from each class's own
# __dict__, so an inherited method appears once, under the class that defines it.
_CLASSES = (
    "Expr", "Table", "Value", "Column", "Scalar", "NumericValue", "NumericColumn",
    "IntegerValue", "IntegerColumn", "FloatingValue", "DecimalValue", "BooleanValue",
    "BooleanColumn", "StringValue", "TemporalValue", "TimestampValue", "DateValue", "TimeValue",
    "IntervalValue", "DayOfWeek", "ArrayValue", "MapValue", "StructValue", "JSONValue",
    "BinaryValue",
)
# Private mixins: their members are documented once, naming every public class that has them.
_MIXINS = {
    "_DateComponentMixin": ("DateValue", "TimestampValue"),
    "_TimeComponentMixin": ("TimeValue", "TimestampValue"),
}
_TOP_LEVEL_SKIP = {"e", "pi", "decompile", "parse_sql", "watermark", "param", "deferred"}


def build_corpus() -> list[Doc]:
    """Every Doc, in a stable order (ids are unique)."""
    import ibis

    docs = [*_expression_docs(), *_grouped_docs(), *_top_level_docs(ibis), *_selector_docs()]
    docs.append(_deferred_doc(ibis))
    docs.extend(notes())
    seen: set[str] = set()
    unique = []
    for d in docs:
        if d.id not in seen:
            seen.add(d.id)
            unique.append(d)
    return unique


def _expression_docs() -> Iterator[Doc]:
    import ibis.expr.types as ir
    from ibis.expr.types import temporal

    for cls_name in _CLASSES:
        cls = getattr(ir, cls_name, None)
        if cls is not None:
            yield from _class_docs(cls, cls_name, (cls_name,))
    for mixin, owners in _MIXINS.items():
        yield from _class_docs(getattr(temporal, mixin), owners[0], owners)
    # Join re-exports Table's methods with the same docstrings; keep only its own.
    for attr, member in vars(ir.Join).items():
        table_member = vars(ir.Table).get(attr)
        if table_member is None or _docstring(member) != _docstring(table_member):
            yield from _member_doc(ir.Join, "Join", ("Join",), attr, member)


def _grouped_docs() -> Iterator[Doc]:
    from ibis.expr.types.groupby import GroupedTable

    yield from _class_docs(GroupedTable, "GroupedTable", ("GroupedTable",))


def _class_docs(cls: type, owner: str, owners: tuple[str, ...]) -> Iterator[Doc]:
    aliases = _aliases(vars(cls))
    for attr, member in vars(cls).items():
        if attr in aliases:
            continue  # documented under the name it aliases
        yield from _member_doc(cls, owner, owners, attr, member,
                               [a for a, target in aliases.items() if target == attr])


def _aliases(members: dict[str, Any]) -> dict[str, str]:
    """{alias: canonical}: public names bound to one function. The canonical name is the
    function's own (`select`, not the deprecated `projection`), else the longest."""
    by_func: dict[int, list[str]] = {}
    funcs = {}
    for attr, member in members.items():
        if not attr.startswith("_") and inspect.isfunction(member):
            by_func.setdefault(id(member), []).append(attr)
            funcs[id(member)] = member
    out = {}
    for key, names in by_func.items():
        own = funcs[key].__name__
        names.sort(key=lambda n: (n != own, -len(n), n))
        out.update({alias: names[0] for alias in names[1:]})
    return out


def _member_doc(
    cls: type, owner: str, owners: tuple[str, ...], attr: str, member: Any,
    aliases: list[str] | None = None,
) -> Iterator[Doc]:
    if attr.startswith("_") or denied_attribute(attr):
        return
    if isinstance(member, property):
        kind, func = "property", member.fget
    elif isinstance(member, staticmethod | classmethod):
        kind, func = "method", member.__func__
    elif inspect.isfunction(member):
        kind, func = "method", member
    else:
        return
    raw = _docstring(member)
    if not raw or func is None or _deprecated(raw):
        return
    text, examples = clean(raw)
    sig = f"{owner}.{attr}" if kind == "property" else f"{owner}.{attr}{_signature(func, True)}"
    if aliases:
        sig += f"  (also .{', .'.join(aliases)})"
    if len(owners) > 1:
        text += "\n\nAvailable on: " + ", ".join(owners)
    yield Doc(
        id=f"{owner}.{attr}", name=f"{cls.__module__}.{cls.__qualname__}.{attr}", attr=attr,
        kind=kind, signature=sig, summary=summary(text), text=text, examples=examples,
        aliases=aliases or [], owners=list(owners),
    )


def _top_level_docs(ibis: Any) -> Iterator[Doc]:
    for attr in ibis.__all__:
        obj = getattr(ibis, attr, None)
        if attr in _TOP_LEVEL_SKIP or denied_attribute(attr) or not inspect.isfunction(obj):
            continue
        yield from _function_doc(obj, "ibis", attr, "function")


def _selector_docs() -> Iterator[Doc]:
    import ibis.selectors as s

    for attr in s.__all__:
        obj = getattr(s, attr, None)
        if inspect.isfunction(obj):
            yield from _function_doc(obj, "selectors", attr, "selector")


def _function_doc(func: Callable[..., Any], prefix: str, attr: str, kind: str) -> Iterator[Doc]:
    raw = _docstring(func)
    if not raw or _deprecated(raw):
        return
    text, examples = clean(raw)
    path = "ibis" if prefix == "ibis" else "ibis.selectors"
    yield Doc(
        id=f"{prefix}.{attr}", name=f"{path}.{attr}", attr=attr, kind=kind,
        signature=f"{path}.{attr}{_signature(func, False)}", summary=summary(text), text=text,
        examples=examples, owners=[path],
    )


def _deferred_doc(ibis: Any) -> Doc:
    text, examples = clean(_docstring(type(ibis._)))
    text = ("`_` stands for the table an expression is applied to: `t.filter(_.x > 1)`, "
            "`t.group_by(\"k\").agg(n=_.count(), m=_.x.mean())`, `t.mutate(y=_.x * 2)`. "
            "It saves naming the table again in a chain of calls.\n\n" + text)
    return Doc(
        id="ibis._", name="ibis._", attr="_", kind="object", signature="ibis._  (deferred)",
        summary=summary(text), text=text,
        examples=['t.filter(_.x > 1).group_by("k").agg(n=_.count())', *examples],
        owners=["ibis"],
    )


def _deprecated(doc: str) -> bool:
    """Deprecated members (fillna, dropna, Value.case) would teach the model the old names."""
    return "DEPRECATED:" in doc or doc.startswith("Deprecated")


def _docstring(member: Any) -> str:
    func = member.fget if isinstance(member, property) else member
    if isinstance(func, staticmethod | classmethod):
        func = func.__func__
    return inspect.cleandoc(getattr(func, "__doc__", None) or "")


def _signature(func: Callable[..., Any], method: bool) -> str:
    """Parameter names and defaults, without the long type annotations; return type kept."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return "(...)"
    params = list(sig.parameters.values())
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    shown = [p.replace(annotation=inspect.Parameter.empty) for p in params]
    text = str(sig.replace(parameters=shown, return_annotation=inspect.Signature.empty))
    ret = sig.return_annotation
    if ret is not inspect.Signature.empty:
        ret_name = ret if isinstance(ret, str) else getattr(ret, "__name__", str(ret))
        text += f" -> {ret_name.replace('ir.', '')}"
    return text
