"""Sampled programs into questions: each kind's words, filled into one of its templates.

A question must say everything its program computes (filters, units of grouping, order, limits,
tie-breaks), so a reader could write an equivalent program from it alone. The sampler in
`finetune.bootstrap` hands over a structured spec (a dict with a `kind`); `question` picks one
of the templates for that kind with the caller's seeded random generator. The templates are
`finetune.phrases.PHRASES`; the words they are filled with come from `finetune.words`.
"""

from __future__ import annotations

import random
import re
from functools import partial
from typing import Any

from finetune.phrases import PHRASES, condition, conditions
from finetune.words import Namer, article, identifier, listing, show

# The word helpers and conditions are imported from here too.
__all__ = ["KINDS", "Namer", "condition", "conditions", "identifier", "listing", "question", "show"]

_ORDER_WORDS = frozenset({"average", "total", "lowest", "highest", "minimum", "maximum", "mean",
                          "sum", "largest", "smallest", "latest", "earliest", "median"})
_MOST = {("num", True): "highest", ("num", False): "lowest", ("time", True): "latest",
         ("time", False): "earliest"}


def question(spec: dict[str, Any], namer: Namer, rng: random.Random) -> str:
    """One question for a program spec, its template drawn with `rng`."""
    text = rng.choice(_BUILDERS[spec["kind"]](_Words(spec, namer, rng)))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,?.;])", r"\1", text)
    return text[0].upper() + text[1:]


class _Fields(dict):
    """Template fields; a callable one is called anew in each template that uses it."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return value() if callable(value) else value


class _Words:
    """The phrases of one spec that templates put together."""

    def __init__(self, spec: dict[str, Any], namer: Namer, rng: random.Random) -> None:
        self.spec, self.namer, self.rng = spec, namer, rng
        self.one, self.many = namer.noun(spec["table"])
        style = rng.choice(["whose", "whose", "with"])
        self.where = self.cond(spec.get("where", []), style)

    def say(self, key: str, **fill: Any) -> list[str]:
        """Every phrasing of `key` in `PHRASES`, filled in."""
        fields = _Fields({"one": self.one, "many": self.many, "where": self.where} | fill)
        return [template.format_map(fields) for template in PHRASES[key]]

    def cond(self, conds: list[dict[str, Any]], style: str = "whose",
             owner: str | None = None) -> str:
        text = conditions(conds, self.namer, style, owner)
        return f" {text}" if text else ""

    def col(self, name: str) -> str:
        return self.namer.words(name)

    def cols(self, names: list[str]) -> str:
        return listing([self.col(n) for n in names])

    def group(self) -> str:
        g = self.spec["group"]
        return self.cols(g) if isinstance(g, list) else self.col(g)

    def agg(self, fn: str, col: str, kind: str = "num", plain: bool = False) -> str:
        """"average age", "latest date of birth"; `plain` keeps "minimum"/"maximum" where an
        order word follows ("the highest maximum age")."""
        words = {"mean": ["average"], "sum": ["total"], "median": ["median"],
                 "min": ["minimum", "lowest", "smallest"], "max": ["maximum", "highest", "largest"],
                 "nunique": ["number of distinct"]}[fn]
        if kind == "time":
            words = {"min": ["earliest"], "max": ["latest"]}.get(fn, words)
        col_words = self.col(col)
        if col_words.split()[0].lower() in _ORDER_WORDS:  # not "the total total spent"
            noun = {"mean": "mean", "sum": "sum"}.get(fn, words[0])
            return f"{noun} of {col_words}"
        return f"{words[0] if plain else self.rng.choice(words)} {col_words}"

    def aggs(self) -> str:
        s = self.spec
        return listing([self.agg(fn, s["col"], s["col_kind"]) for fn in s["fns"]])

    def ranked(self, col: str) -> str:
        """A column after "the highest": "age", but "value of lowest" for a column "Lowest"."""
        words = self.col(col)
        return f"value of {words}" if words.split()[0].lower() in _ORDER_WORDS else words

    def order(self, col: str, desc: bool, kind: str) -> str:
        if kind == "text":
            return "in reverse alphabetical order" if desc else "in alphabetical order"
        if kind == "time":
            return "latest first" if desc else "earliest first"
        return self.rng.choice(["from highest to lowest", "in descending order"]) if desc \
            else self.rng.choice(["from lowest to highest", "in ascending order"])

    def ties(self, names: list[str]) -> str:
        if not names:
            return ""
        return self.rng.choice([", ties broken by {} in ascending order",
                                "; break ties by {} (ascending)"]).format(self.cols(names))

    def tie_each(self) -> partial[str]:
        """The tie-break as a field drawn anew in each phrasing that uses it."""
        return partial(self.ties, self.spec["ties"])


# The words of each kind. Keep the order of the random draws (agg, order, ties): seeded runs
# give the same questions only while it holds.


def _count(w: _Words) -> list[str]:
    return w.say("count" if w.where else "count/all")


def _list(w: _Words) -> list[str]:
    return w.say("list/lookup" if w.spec.get("lookup") else "list", cols=w.cols(w.spec["cols"]))


def _sorted(w: _Words) -> list[str]:
    s = w.spec
    order = f"sorted by {w.col(s['by'])} {w.order(s['by'], s['desc'], s['by_kind'])}"
    return w.say("sorted", cols=w.cols(s["cols"]), order=order, ties=w.ties(s["ties"]))


def _top(w: _Words) -> list[str]:
    s = w.spec
    return w.say("top/one" if s["k"] == 1 else "top", by=w.ranked(s["by"]), k=s["k"],
                 cols=w.cols(s["cols"]), ties=w.ties(s["ties"]),
                 most=_MOST[s["by_kind"], s["desc"]])


def _distinct(w: _Words) -> list[str]:
    cols = w.spec["cols"]
    if len(cols) > 1:
        return w.say("distinct/pairs", cols=w.cols(cols))
    return w.say("distinct", col=w.col(cols[0]))


def _nunique(w: _Words) -> list[str]:
    return w.say("nunique", col=w.col(w.spec["col"]))


def _aggregate(w: _Words) -> list[str]:
    return w.say("aggregate", what=w.aggs(), verb="is" if len(w.spec["fns"]) == 1 else "are")


def _group_count(w: _Words) -> list[str]:
    return w.say("group_count", g=w.group())


def _group_agg(w: _Words) -> list[str]:
    return w.say("group_agg", g=w.group(), what=w.aggs())


def _group_top(w: _Words) -> list[str]:
    s = w.spec
    one = "/one" if s["k"] == 1 else ""
    if s.get("col"):
        return w.say("group_top/value" + one, g=w.group(), k=s["k"],
                     what=w.agg(s["fn"], s["col"], s["col_kind"], plain=True),
                     most="highest" if s["desc"] else "lowest", ties=w.tie_each())
    return w.say("group_top" + one, g=w.group(), k=s["k"],
                 most="most" if s["desc"] else "fewest", ties=w.tie_each())


def _group_sorted(w: _Words) -> list[str]:
    s = w.spec
    if s.get("col"):
        return w.say("group_sorted/value", g=w.group(),
                     what=w.agg(s["fn"], s["col"], s["col_kind"], plain=True),
                     most="highest" if s["desc"] else "lowest", ties=w.tie_each())
    return w.say("group_sorted", g=w.group(), most="most" if s["desc"] else "fewest",
                 ties=w.tie_each())


def _having(w: _Words) -> list[str]:
    s = w.spec
    if s.get("col"):
        word = {"gt": "above", "ge": "of at least", "lt": "below", "le": "of at most"}[s["op"]]
        first, second = w.say("having/value", g=w.group(), word=word, value=show(s["value"]),
                              what=w.agg(s["fn"], s["col"], s["col_kind"], plain=True),
                              also=" Show that value too." if s["keep_value"] else "")
        return [first.replace(" an m", " a m").replace(" an t", " a t"), second]  # "a mean"
    word = {"gt": "more than", "ge": "at least", "lt": "fewer than", "le": "at most"}[s["op"]]
    return w.say("having", g=w.group(), word=word, value=s["value"],
                 noun=w.one if s["value"] == 1 else w.many,
                 also=" Give each with its count." if s["keep_value"] else "")


def _ratio(w: _Words) -> list[str]:
    test = w.spec["test"]
    have, whose = w.cond(test, "have"), w.cond(test, "whose")
    if w.spec.get("group"):
        return w.say("ratio/group", g=w.group(), have=have, whose=whose)
    return w.say("ratio", have=have, whose=whose)


def _share(w: _Words) -> list[str]:
    return w.say("share", g=w.group())


def _rank(w: _Words) -> list[str]:
    s = w.spec
    return w.say("rank", cols=w.cols(s["cols"]), by=w.col(s["by"]),
                 most="highest" if s["desc"] else "lowest")


def _top_per_group(w: _Words) -> list[str]:
    s = w.spec
    return w.say("top_per_group", g=w.group(), by=w.ranked(s["by"]), cols=w.cols(s["cols"]),
                 most=_MOST[s["by_kind"], s["desc"]], ties=w.ties(s["ties"]))


def _vs_group(w: _Words) -> list[str]:
    return w.say("vs_group", g=w.group(), col=w.col(w.spec["col"]), cols=w.cols(w.spec["cols"]))


def _running(w: _Words) -> list[str]:
    s = w.spec
    return w.say("running", col=w.col(s["col"]), by=w.col(s["by"]), cols=w.cols(s["cols"]))


def _date_group(w: _Words) -> list[str]:
    s = w.spec
    part = {"year": "year", "month": "calendar month (1-12, all years together)",
            "day_of_week": "day of the week (by day name)"}[s["part"]]
    if s.get("measure"):
        return w.say("date_group/value", col=w.col(s["col"]), part=part,
                     what=w.agg(s["fn"], s["measure"], "num"))
    return w.say("date_group", col=w.col(s["col"]), part=part)


def _join_words(w: _Words) -> dict[str, str]:
    """The referenced table's role (what the key calls it) and label; the filters on both."""
    s = w.spec
    role = w.namer.role(s["key"], s["ref"])
    label = w.col(s["ref_label"])
    ref_where = w.cond(s.get("ref_where", []), "whose", owner=role)
    return {"role": role, "label": label, "role_label": _role_label(role, label),
            "where": " and".join(x for x in [w.where, ref_where] if x)}


def _role_label(role: str, label: str) -> str:
    """"stadium name", but "concert name" rather than "concert concert name"."""
    if label.startswith(role) or label.split()[0] == role.split()[-1]:
        return label
    return f"{role} {label}"


def _join_count(w: _Words) -> list[str]:
    words = _join_words(w)
    if words["label"].lower() == words["role"].lower():  # flights per airline, named Airline
        return w.say("join_count/role", **words)
    if not w.spec.get("label_unique"):  # rows that share a label are counted together
        return w.say("join_count/shared", **words)
    return w.say("join_count", **words)


def _join_agg(w: _Words) -> list[str]:
    s = w.spec
    words = _join_words(w)
    return w.say("join_agg" if s.get("label_unique") else "join_agg/shared", **words,
                 what=w.agg(s["fn"], s["col"], s["col_kind"]))


def _join_top(w: _Words) -> list[str]:
    s = w.spec
    words = _join_words(w)
    return w.say("join_top" if s.get("label_unique") else "join_top/shared", **words,
                 most="most" if s["desc"] else "fewest", ties=w.tie_each())


def _join_list(w: _Words) -> list[str]:
    s = w.spec
    words = _join_words(w)
    cols = w.cols(s["cols"])
    ref_cols = listing([w.col(c) for c in s.get("ref_cols", [])])
    if not cols:
        key = "join_list/ref"
    elif not ref_cols:
        key = "join_list/own"
    elif ref_cols.lower() == words["role"].lower():  # "the orchestra", not "... of its orchestra"
        key = "join_list/role"
    else:
        key = "join_list"
    return w.say(key, **words, cols=cols, ref_cols=ref_cols)


def _join_filter_count(w: _Words) -> list[str]:
    return w.say("join_filter_count", **_join_words(w))


def _join_anti(w: _Words) -> list[str]:
    s = w.spec
    one, many = w.namer.noun(s["ref"])
    role = w.namer.role(s["key"], s["ref"])
    if s["anti"]:
        link = f"have no {w.many}" if role == one else f"are not the {role} of any {w.one}"
    else:
        link = f"have at least one {w.one}" if role == one else f"are the {role} of some {w.one}"
    return w.say("join_anti/count" if s.get("count") else "join_anti", refs=many, link=link,
                 ref_where=w.cond(s.get("ref_where", [])), label=w.col(s["ref_label"]))


def _link_list(w: _Words) -> list[str]:
    """Through a link table: items of one side linked to a row of the other side."""
    s = w.spec
    l_one, l_many = w.namer.noun(s["table"])
    a_one, a_many = w.namer.noun(s["a"])
    target = f"the {w.namer.noun(s['b'])[0]} whose {w.col(s['b_col'])} is {show(s['b_value'])}"
    return w.say("link_list", a_one=a_one, a_many=a_many, a_label=w.col(s["a_label"]),
                 l_many=l_many, a_link=f"{article(l_one)} {l_one}", target=target)


def _link_count(w: _Words) -> list[str]:
    s = w.spec
    b_one, b_label = w.namer.noun(s["b"])[0], w.col(s["b_label"])
    return w.say("link_count", l_many=w.namer.noun(s["table"])[1], a_many=w.namer.noun(s["a"])[1],
                 b_one=b_one, b_label=b_label, b_role_label=_role_label(b_one, b_label))


_BUILDERS = {
    "count": _count, "list": _list, "sorted": _sorted, "top": _top, "distinct": _distinct,
    "nunique": _nunique, "aggregate": _aggregate, "group_count": _group_count,
    "group_agg": _group_agg, "group_top": _group_top, "group_sorted": _group_sorted,
    "having": _having, "ratio": _ratio, "share": _share, "rank": _rank,
    "top_per_group": _top_per_group, "vs_group": _vs_group, "running": _running,
    "date_group": _date_group, "join_count": _join_count, "join_agg": _join_agg,
    "join_top": _join_top, "join_list": _join_list, "join_filter_count": _join_filter_count,
    "join_anti": _join_anti, "link_list": _link_list, "link_count": _link_count,
}
KINDS = tuple(_BUILDERS)
