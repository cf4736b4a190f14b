"""Sampled programs into questions: names into words, and several templates per construct.

A question must say everything its program computes (filters, units of grouping, order, limits,
tie-breaks), so a reader could write an equivalent program from it alone. The sampler in
`finetune.bootstrap` hands over a structured spec (a dict with a `kind`); `question` picks one
of the templates for that kind with the caller's seeded random generator.
"""

from __future__ import annotations

import json
import keyword
import random
import re
from collections.abc import Iterable
from typing import Any

# Abbreviations in column and table names, lower-cased, and the words they stand for.
ABBREVIATIONS = {
    "id": "ID", "uid": "ID", "num": "number", "no": "number", "nbr": "number", "avg": "average",
    "qty": "quantity", "amt": "amount", "pct": "percent", "dept": "department",
    "desc": "description", "addr": "address", "dob": "date of birth", "yr": "year",
    "ht": "height", "wt": "weight", "stu": "student", "fname": "first name",
    "lname": "last name", "cont": "continent", "indep": "independence", "arr": "arrival",
    "dep": "departure", "sched": "scheduled", "dest": "destination", "tailnum": "tail number",
    "temp": "temperature", "precip": "precipitation", "visib": "visibility",
    "humid": "humidity", "dewp": "dew point", "dir": "direction", "lat": "latitude",
    "lon": "longitude", "lng": "longitude", "alt": "altitude", "tz": "time zone",
    "tzone": "time zone name", "dst": "daylight saving code", "max": "maximum",
    "min": "minimum", "cnt": "count", "tot": "total", "edispl": "engine displacement",
    "accel": "acceleration", "yn": "(yes/no)", "hight": "high", "mgr": "manager",
    "emp": "employee", "info": "information", "cd": "code", "nm": "name", "dt": "date",
    "svpt": "serve points", "bp": "break points", "df": "double faults", "ace": "aces",
    "faa": "FAA code", "ioc": "IOC country", "m": "(millions)", "sal": "salary",
}
ACRONYMS = frozenset({
    "id", "tv", "gnp", "mpg", "usa", "uk", "us", "faa", "ioc", "phd", "par", "ppv", "hd",
    "url", "ip", "gdp", "ssn", "vat", "zip", "isbn", "gpa",
})
# Words that make a table name a poor noun on its own: "cars data" -> "cars data records".
_RECORD_WORDS = frozenset({"data", "info", "information", "weather", "hiring", "history",
                           "staff", "arrange", "in", "of", "has", "is", "to", "for"})
_IRREGULAR = {"person": "people", "child": "children", "man": "men", "woman": "women",
              "series": "series", "species": "species", "criterion": "criteria"}
_SINGULAR = {v: k for k, v in _IRREGULAR.items()}
_ORDER_WORDS = frozenset({"average", "total", "lowest", "highest", "minimum", "maximum", "mean",
                          "sum", "largest", "smallest", "latest", "earliest", "median"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


# Names into words ------------------------------------------------------------------------------


class Namer:
    """Words for the column and table names of one schema.

    `vocab` holds words seen elsewhere in the schema; a long unknown word that is two of them run
    together ("countrylanguage") is split ("country language")."""

    def __init__(self, vocab: Iterable[str] = ()) -> None:
        self.vocab = {w.lower() for w in vocab if len(w) >= 3}

    @classmethod
    def for_names(cls, names: Iterable[str]) -> Namer:
        vocab: list[str] = []
        for name in names:
            vocab += [t.lower() for t in _TOKEN.findall(name)]
        return cls(vocab)

    def words(self, name: str) -> str:
        """A column name as words: "arr_delay" -> "arrival delay", "StuID" -> "student ID",
        "Is_male" -> "male flag"."""
        words = self._words(name)
        if len(words) > 1 and words[0] in ("is", "if", "has"):
            words = [*words[1:], "flag"]
        return " ".join(words)

    def _words(self, name: str) -> list[str]:
        out: list[str] = []
        for piece in re.split(r"[_\s\-./]+", name.strip()):
            if not piece:
                continue
            inner = piece.strip("()")
            if inner != piece and inner:  # "(millions)" stays one parenthesized word
                out.append("(" + " ".join(self._words(inner)) + ")")
                continue
            if piece.lower() in ABBREVIATIONS:
                out += ABBREVIATIONS[piece.lower()].split()
                continue
            for token in _TOKEN.findall(piece):
                out += self._token(token)
        return _join_numbers(out) or [name]

    def _token(self, token: str) -> list[str]:
        low = token.lower()
        if low in ABBREVIATIONS:
            return ABBREVIATIONS[low].split()
        if low in ACRONYMS:
            return [low.upper()]
        if len(low) >= 8:  # words run together: "countrylanguage"
            for i in range(3, len(low) - 2):
                if low[:i] in self.vocab and low[i:] in self.vocab:
                    return [low[:i], low[i:]]
        return [low]

    def noun(self, table: str) -> tuple[str, str]:
        """(singular, plural) for a table: "Ref_Template_Types" -> template type(s)."""
        words = self._words(table)
        if len(words) > 1 and words[0] in ("ref", "reference"):  # Ref_ lookup tables
            words = words[1:]
        if any(w in _RECORD_WORDS for w in words) or words[-1].endswith("ing"):
            stem = " ".join(words)
            return f"{stem} record", f"{stem} records"
        *head, last = words
        if is_plural(last):
            single, many = singular(last), last
        else:
            single, many = last, plural(last)
        return " ".join([*head, single]), " ".join([*head, many])

    def role(self, column: str, ref_table: str) -> str:
        """What a key column calls the row it points to: winner_id -> "winner", SourceAirport
        -> "source airport"; the referenced table's noun when the column says no more."""
        words = [w for w in self._words(column) if w.lower() not in ("id", "code", "number")]
        ref = self.noun(ref_table)[0]
        if not words or len(words) > 2 or column.lower() in ABBREVIATIONS:  # tailnum: a plane
            return ref
        if is_plural(words[-1]):  # People_ID -> "person"
            words[-1] = singular(words[-1])
        if len(words) == 1 and words[0].endswith("ed"):  # liked_id -> "liked highschooler"
            return f"{words[0]} {ref}"
        if len(words) == 2 and words[-1] != ref.split()[-1]:
            return ref
        return " ".join(words)


def _join_numbers(words: list[str]) -> list[str]:
    """["18", "49", "rating"] -> ["18-49", "rating"]."""
    out: list[str] = []
    for w in words:
        if out and w.isdigit() and out[-1].replace("-", "").isdigit():
            out[-1] += "-" + w
        else:
            out.append(w)
    return out


def is_plural(word: str) -> bool:
    w = word.lower()
    if w in _SINGULAR:
        return True
    return w.endswith("s") and not w.endswith(("ss", "us", "is", "series")) and len(w) > 3


def singular(word: str) -> str:
    w = word.lower()
    if w in _SINGULAR:
        return _SINGULAR[w]
    if w.endswith("ies") and len(w) > 4:
        return word[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return word[:-1]
    return word


def plural(word: str) -> str:
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.upper() == word and len(word) > 1:  # an acronym: "TVs"
        return word + "s"
    if w.endswith("y") and len(w) > 1 and w[-2] not in "aeiou":
        return word[:-1] + "ies"
    if w.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def identifier(text: str, taken: Iterable[str] = ()) -> str:
    """A snake_case Python identifier from words: output column names of generated programs."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "value"
    if name[0].isdigit():
        name = "n" + name
    while keyword.iskeyword(name) or name in set(taken):
        name += "_value"
    return name


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def listing(items: list[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def show(value: Any) -> str:
    """A value as a question writes it: text quoted, numbers plain."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if "'" in value else f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return str(value)


# Conditions ------------------------------------------------------------------------------------

# How a condition reads after a noun: "singers whose age is above 30" ("whose"), "singers with
# age above 30" ("with"), or after "have": "what share of singers have age above 30" ("have").
_COND = {
    "eq": ("whose {col} is {v}", "with {col} {v}", "have {col} {v}"),
    "ne": ("whose {col} is not {v}", "with {col} other than {v}", "have {col} other than {v}"),
    "gt": ("whose {col} is greater than {v}", "with {col} above {v}", "have {col} above {v}"),
    "ge": ("whose {col} is at least {v}", "with {col} of at least {v}",
           "have {col} of at least {v}"),
    "lt": ("whose {col} is less than {v}", "with {col} below {v}", "have {col} below {v}"),
    "le": ("whose {col} is at most {v}", "with {col} of at most {v}",
           "have {col} of at most {v}"),
    "between": ("whose {col} is between {lo} and {hi} inclusive",
                "with {col} from {lo} to {hi} inclusive",
                "have {col} between {lo} and {hi} inclusive"),
    "in": ("whose {col} is one of {vs}", "with {col} {vs_or}", "have {col} {vs_or}"),
    "isnull": ("whose {col} is missing", "with no {col} recorded", "have no {col} recorded"),
    "notnull": ("whose {col} is known", "with {a_col} recorded", "have {a_col} recorded"),
    "contains": ("whose {col} contains {v}", "with {col} containing {v}",
                 "have {col} containing {v}"),
    "startswith": ("whose {col} starts with {v}", "with {col} starting with {v}",
                   "have {col} starting with {v}"),
    "endswith": ("whose {col} ends with {v}", "with {col} ending with {v}",
                 "have {col} ending with {v}"),
    "year": ("whose {col} is in the year {v}", "with {col} in {v}", "have {col} in {v}"),
    "month": ("whose {col} falls in {month} (of any year)", "with {col} in {month} of any year",
              "have {col} in {month} of any year"),
}
_STYLES = {"whose": 0, "with": 1, "have": 2}


def condition(cond: dict[str, Any], namer: Namer, style: str = "whose",
              owner: str | None = None) -> str:
    """One condition as words. `owner` prefixes the column: "whose stadium's capacity is ..."."""
    col = namer.words(cond["col"])
    if owner:
        col = f"{owner}'s {col}"
    v = cond.get("value")
    fill = {"col": col, "a_col": f"{article(col)} {col}", "v": show(v) if v is not None else ""}
    if cond["op"] == "between":
        fill |= {"lo": show(v[0]), "hi": show(v[1])}
    if cond["op"] == "in":
        shown = [show(x) for x in v]
        fill |= {"vs": listing(shown).replace(" and ", " or "),
                 "vs_or": "of " + listing(shown).replace(" and ", " or ")}
    if cond["op"] == "month":
        fill["month"] = _MONTHS[int(v) - 1]
    text = _COND[cond["op"]][_STYLES[style]].format(**fill)
    if cond["op"] == "eq" and style != "whose" and not isinstance(v, str):
        text = text.replace(f"{col} {fill['v']}", f"{col} equal to {fill['v']}")
    return text


def conditions(conds: list[dict[str, Any]], namer: Namer, style: str = "whose",
               owner: str | None = None) -> str:
    """All conditions of a filter, joined with "and"; "" when there are none."""
    if not conds:
        return ""
    parts = [condition(c, namer, style, owner) for c in conds]
    if style == "with":  # "with age above 30 and country 'France'"
        parts = [parts[0]] + [p.removeprefix("with ") for p in parts[1:]]
    elif style == "have":
        parts = [parts[0]] + [p.removeprefix("have ") for p in parts[1:]]
    return " and ".join(parts)


# Questions -------------------------------------------------------------------------------------


def question(spec: dict[str, Any], namer: Namer, rng: random.Random) -> str:
    """One question for a program spec, its template drawn with `rng`."""
    text = _BUILDERS[spec["kind"]](_Words(spec, namer, rng), rng)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,?.;])", r"\1", text)
    return text[0].upper() + text[1:]


class _Words:
    """The phrases of one spec that templates put together."""

    def __init__(self, spec: dict[str, Any], namer: Namer, rng: random.Random) -> None:
        self.spec, self.namer, self.rng = spec, namer, rng
        self.one, self.many = namer.noun(spec["table"])
        style = rng.choice(["whose", "whose", "with"])
        self.where = self.cond(spec.get("where", []), style)

    def cond(self, conds: list[dict[str, Any]], style: str = "whose",
             owner: str | None = None) -> str:
        text = conditions(conds, self.namer, style, owner)
        return f" {text}" if text else ""

    def col(self, name: str) -> str:
        return self.namer.words(name)

    def cols(self, names: list[str]) -> str:
        return listing([self.col(n) for n in names])

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


def _count(w: _Words, rng: random.Random) -> str:
    if not w.where:
        return rng.choice([f"How many {w.many} are there?", f"Count all {w.many}.",
                           f"What is the total number of {w.many}?",
                           f"How many {w.many} does the database list?"])
    return rng.choice([f"How many {w.many}{w.where} are there?", f"Count the {w.many}{w.where}.",
                       f"What is the number of {w.many}{w.where}?",
                       f"Find how many {w.many} there are{w.where}."])


def _list(w: _Words, rng: random.Random) -> str:
    cols = w.cols(w.spec["cols"])
    if w.spec.get("lookup"):
        return rng.choice([f"What is the {cols} of the {w.one}{w.where}?",
                           f"Give the {cols} of the {w.one}{w.where}.",
                           f"Find the {cols} for the {w.one}{w.where}."])
    return rng.choice([f"List the {cols} of {w.many}{w.where}.",
                       f"Show the {cols} of every {w.one}{w.where}.",
                       f"What are the {cols} of the {w.many}{w.where}?",
                       f"Give the {cols} for all {w.many}{w.where}."])


def _sorted(w: _Words, rng: random.Random) -> str:
    s = w.spec
    cols = w.cols(s["cols"])
    order = f"sorted by {w.col(s['by'])} {w.order(s['by'], s['desc'], s['by_kind'])}"
    ties = w.ties(s["ties"])
    return rng.choice([f"List the {cols} of {w.many}{w.where}, {order}{ties}.",
                       f"Show the {cols} of all {w.many}{w.where}, {order}{ties}.",
                       f"Give the {cols} of each {w.one}{w.where}, {order}{ties}."])


def _top(w: _Words, rng: random.Random) -> str:
    s = w.spec
    by, k, cols, ties = w.ranked(s["by"]), s["k"], w.cols(s["cols"]), w.ties(s["ties"])
    most = {("num", True): "highest", ("num", False): "lowest", ("time", True): "latest",
            ("time", False): "earliest"}[s["by_kind"], s["desc"]]
    first = f"{most} first"
    if k == 1:
        return rng.choice([f"Which {w.one}{w.where} has the {most} {by}? Give its {cols}{ties}.",
                           f"Find the {w.one}{w.where} with the {most} {by}; show its "
                           f"{cols}{ties}.",
                           f"What are the {cols} of the {w.one}{w.where} with the {most} "
                           f"{by}{ties}?"])
    return rng.choice([f"Which {k} {w.many}{w.where} have the {most} {by}? Give their {cols}, "
                       f"{first}{ties}.",
                       f"List the {cols} of the {k} {w.many}{w.where} with the {most} {by}, "
                       f"{first}{ties}.",
                       f"What are the top {k} {w.many}{w.where} by {most} {by}? Show {cols}, "
                       f"{first}{ties}."])


def _distinct(w: _Words, rng: random.Random) -> str:
    cols = w.spec["cols"]
    if len(cols) > 1:
        both = w.cols(cols)
        return rng.choice([f"List the distinct combinations of {both} among {w.many}{w.where}.",
                           f"Which different pairs of {both} occur among {w.many}{w.where}?"])
    col = w.col(cols[0])
    return rng.choice([f"What are the distinct {col} values of {w.many}{w.where}?",
                       f"List the different {col} values among {w.many}{w.where}.",
                       f"Which {col} values occur among {w.many}{w.where}? List each once."])


def _nunique(w: _Words, rng: random.Random) -> str:
    col = w.col(w.spec["col"])
    return rng.choice([f"How many different {col} values are there among {w.many}{w.where}?",
                       f"Count the distinct {col} values of {w.many}{w.where}.",
                       f"How many distinct {col} values do {w.many}{w.where} have?"])


def _aggregate(w: _Words, rng: random.Random) -> str:
    s = w.spec
    parts = listing([w.agg(fn, s["col"], s["col_kind"]) for fn in s["fns"]])
    verb = "is" if len(s["fns"]) == 1 else "are"
    return rng.choice([f"What {verb} the {parts} of {w.many}{w.where}?",
                       f"Find the {parts} over all {w.many}{w.where}.",
                       f"Compute the {parts} among {w.many}{w.where}."])


def _group_words(w: _Words) -> str:
    g = w.spec["group"]
    return w.cols(g) if isinstance(g, list) else w.col(g)


def _group_count(w: _Words, rng: random.Random) -> str:
    g = _group_words(w)
    return rng.choice([f"How many {w.many}{w.where} are there for each {g}?",
                       f"For each {g}, count the {w.many}{w.where}.",
                       f"What is the number of {w.many}{w.where} per {g}?",
                       f"Count the {w.many}{w.where} grouped by {g}."])


def _group_agg(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g = _group_words(w)
    what = listing([w.agg(fn, s["col"], s["col_kind"]) for fn in s["fns"]])
    return rng.choice([f"What is the {what} of {w.many}{w.where} for each {g}?",
                       f"For each {g}, give the {what} of {w.many}{w.where}.",
                       f"Show the {what} per {g} over {w.many}{w.where}."])


def _group_top(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g, k = _group_words(w), s["k"]
    if s.get("col"):
        what = w.agg(s["fn"], s["col"], s["col_kind"], plain=True)
        most = "highest" if s["desc"] else "lowest"
        if k == 1:
            return rng.choice([f"Which {g} has the {most} {what} among {w.many}{w.where}? Give "
                               f"the {g} and that value{w.ties(s['ties'])}.",
                               f"Among {w.many}{w.where}, which {g} has the {most} {what}? "
                               f"Show it with the value{w.ties(s['ties'])}."])
        return rng.choice([f"Which {k} {g} values have the {most} {what} of {w.many}{w.where}? "
                           f"Give each with the value, {most} first{w.ties(s['ties'])}."])
    most, fewest = ("most", "most first") if s["desc"] else ("fewest", "fewest first")
    if k == 1:
        return rng.choice([f"Which {g} has the {most} {w.many}{w.where}? Give it with the "
                           f"count{w.ties(s['ties'])}.",
                           f"Find the {g} with the {most} {w.many}{w.where}, and how many "
                           f"there are{w.ties(s['ties'])}."])
    return rng.choice([f"What are the {k} {g} values with the {most} {w.many}{w.where}? "
                       f"Show each with its count, {fewest}{w.ties(s['ties'])}.",
                       f"List the top {k} {g} values by number of {w.many}{w.where}, "
                       f"{fewest}, with the counts{w.ties(s['ties'])}."])


def _group_sorted(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g = _group_words(w)
    if s.get("col"):
        what = w.agg(s["fn"], s["col"], s["col_kind"], plain=True)
        order = "highest first" if s["desc"] else "lowest first"
        return rng.choice([f"What is the {what} of {w.many}{w.where} for each {g}? Sort by "
                           f"that value, {order}{w.ties(s['ties'])}."])
    order = "most first" if s["desc"] else "fewest first"
    return rng.choice([f"How many {w.many}{w.where} are there for each {g}? Order by the "
                       f"count, {order}{w.ties(s['ties'])}.",
                       f"Count the {w.many}{w.where} per {g}, {order}{w.ties(s['ties'])}."])


def _having(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g = _group_words(w)
    cmp = {"gt": "more than", "ge": "at least", "lt": "fewer than", "le": "at most"}[s["op"]]
    show_count = " Give each with its count." if s["keep_value"] else ""
    if s.get("col"):
        what = w.agg(s["fn"], s["col"], s["col_kind"], plain=True)
        word = {"gt": "above", "ge": "of at least", "lt": "below", "le": "of at most"}[s["op"]]
        value = " Show that value too." if s["keep_value"] else ""
        return rng.choice([f"Which {g} values have an {what} {word} "
                           f"{show(s['value'])} among their {w.many}{w.where}?{value}"
                           .replace(" an m", " a m").replace(" an t", " a t"),
                           f"For which {g} is the {what} of {w.many}{w.where} {word} "
                           f"{show(s['value'])}?{value}"])
    noun = w.one if s["value"] == 1 else w.many
    return rng.choice([f"Which {g} values have {cmp} {s['value']} {noun}{w.where}?"
                       f"{show_count}",
                       f"List the {g} values shared by {cmp} {s['value']} "
                       f"{noun}{w.where}.{show_count}"])


def _ratio(w: _Words, rng: random.Random) -> str:
    s = w.spec
    have = w.cond(s["test"], "have")
    whose = w.cond(s["test"], "whose")
    if s.get("group"):
        g = _group_words(w)
        return rng.choice([f"For each {g}, what percentage of {w.many}{w.where}{have}?",
                           f"What share (in percent) of the {w.many}{w.where} in each {g} are "
                           f"ones{whose}?"])
    return rng.choice([f"What percentage of {w.many}{w.where}{have}?",
                       f"Of all {w.many}{w.where}, what share in percent are ones{whose}?",
                       f"What percent of the {w.many}{w.where}{have}?"])


def _share(w: _Words, rng: random.Random) -> str:
    g = _group_words(w)
    return rng.choice([f"What percentage of all {w.many}{w.where} falls in each {g}? Give the "
                       f"count and the percentage.",
                       f"For each {g}, how many {w.many}{w.where} are there and what share "
                       f"(in percent) of the total is that?"])


def _rank(w: _Words, rng: random.Random) -> str:
    s = w.spec
    cols, by = w.cols(s["cols"]), w.col(s["by"])
    most = "highest" if s["desc"] else "lowest"
    return rng.choice([f"Rank the {w.many}{w.where} by {by}, {most} first (rank 1 = {most}, "
                       f"equal values share a rank). Give the {cols} and the rank.",
                       f"Give each {w.one}{w.where} a rank by {by} where 1 is the {most} and "
                       f"ties share the same rank; show {cols} and the rank."])


def _top_per_group(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g, by, cols = _group_words(w), w.ranked(s["by"]), w.cols(s["cols"])
    most = {("num", True): "highest", ("num", False): "lowest", ("time", True): "latest",
            ("time", False): "earliest"}[s["by_kind"], s["desc"]]
    ties = w.ties(s["ties"])
    return rng.choice([f"For each {g}, which {w.one}{w.where} has the {most} {by}? Give the "
                       f"{cols}{ties}.",
                       f"Find the {w.one} with the {most} {by} in every {g}{w.where}; show "
                       f"{cols}{ties}."])


def _vs_group(w: _Words, rng: random.Random) -> str:
    s = w.spec
    g, m, cols = _group_words(w), w.col(s["col"]), w.cols(s["cols"])
    return rng.choice([f"For each {w.one}{w.where}, how much does its {m} differ from the "
                       f"average {m} of {w.many} with the same {g}? Give the {cols} and the "
                       f"difference ({m} minus that average).",
                       f"Show the {cols} of every {w.one}{w.where} together with its {m} "
                       f"minus the average {m} of its {g}."])


def _running(w: _Words, rng: random.Random) -> str:
    s = w.spec
    m, by, cols = w.col(s["col"]), w.col(s["by"]), w.cols(s["cols"])
    return rng.choice([f"List the {cols} of {w.many}{w.where} in order of {by} (ascending), "
                       f"with the running total of {m} up to each row.",
                       f"Going through {w.many}{w.where} by increasing {by}, show {cols} and "
                       f"the cumulative sum of {m}."])


def _date_group(w: _Words, rng: random.Random) -> str:
    s = w.spec
    col = w.col(s["col"])
    part = {"year": "year", "month": "calendar month (1-12, all years together)",
            "day_of_week": "day of the week (by day name)"}[s["part"]]
    if s.get("measure"):
        what = w.agg(s["fn"], s["measure"], "num")
        return rng.choice([f"What is the {what} of {w.many}{w.where} for each {part} of their "
                           f"{col}?",
                           f"Group the {w.many}{w.where} by the {part} of their {col} and give "
                           f"the {what}."])
    return rng.choice([f"How many {w.many}{w.where} are there for each {part} of their {col}?",
                       f"Count the {w.many}{w.where} by the {part} of their {col}.",
                       f"For each {part} of the {col}, how many {w.many}{w.where} are there?"])


def _join_words(w: _Words) -> tuple[str, str, str, str]:
    """(one, many) of the referenced table, and the role the key gives it."""
    s = w.spec
    one, many = w.namer.noun(s["ref"])
    role = w.namer.role(s["key"], s["ref"])
    return one, many, role, w.cond(s.get("ref_where", []), "whose", owner=role)


def _role_label(role: str, label: str) -> str:
    """"stadium name", but "concert name" rather than "concert concert name"."""
    if label.startswith(role) or label.split()[0] == role.split()[-1]:
        return label
    return f"{role} {label}"


def _join_count(w: _Words, rng: random.Random) -> str:
    _, _, role, _ = _join_words(w)
    label = w.col(w.spec["ref_label"])
    if label.lower() == role.lower():  # flights per airline, where the airline's name is Airline
        return rng.choice([f"How many {w.many}{w.where} are there for each {role}?",
                           f"For each {role}, count the {w.many}{w.where}."])
    if not w.spec.get("label_unique"):  # rows that share a label are counted together
        return rng.choice([f"Count the {w.many}{w.where} per {_role_label(role, label)}.",
                           f"How many {w.many}{w.where} are there for each "
                           f"{_role_label(role, label)}?"])
    return rng.choice([f"How many {w.many}{w.where} are there for each {role}? Identify the "
                       f"{role} by its {label}.",
                       f"For each {role} (by {label}), count the {w.many}{w.where}.",
                       f"Count the {w.many}{w.where} per {_role_label(role, label)}."])


def _by_label(options: list[str], spec: dict[str, Any]) -> list[str]:
    """All phrasings when the label names one row; else only the last, which groups by it."""
    return options if spec.get("label_unique") else options[-1:]


def _join_agg(w: _Words, rng: random.Random) -> str:
    s = w.spec
    _, _, role, _ = _join_words(w)
    label = w.col(s["ref_label"])
    what = w.agg(s["fn"], s["col"], s["col_kind"])
    options = [f"What is the {what} of {w.many}{w.where} for each {role}? Identify the "
               f"{role} by its {label}.",
               f"For each {_role_label(role, label)}, give the {what} of their "
               f"{w.many}{w.where}."]
    return rng.choice(_by_label(options, s))


def _join_top(w: _Words, rng: random.Random) -> str:
    s = w.spec
    _, _, role, _ = _join_words(w)
    label = w.col(s["ref_label"])
    most = "most" if s["desc"] else "fewest"
    if not s.get("label_unique"):  # `ties` draws a phrasing: build only what is used
        return rng.choice([f"Find the {_role_label(role, label)} with the {most} "
                           f"{w.many}{w.where}, with the number{w.ties(s['ties'])}."])
    return rng.choice([f"Which {role} has the {most} {w.many}{w.where}? Give its {label} and "
                       f"the count{w.ties(s['ties'])}.",
                       f"Find the {_role_label(role, label)} with the {most} "
                       f"{w.many}{w.where}, with the number{w.ties(s['ties'])}."])


def _join_list(w: _Words, rng: random.Random) -> str:
    s = w.spec
    _, _, role, ref_where = _join_words(w)
    cols = w.cols(s["cols"])
    extra = listing([w.col(c) for c in s.get("ref_cols", [])])
    where = " and".join(x for x in [w.where, ref_where] if x)
    if not cols:
        return rng.choice([f"List the {extra} of the {role} of each {w.one}{where}.",
                           f"For every {w.one}{where}, give the {extra} of its {role}."])
    if not extra:
        return rng.choice([f"List the {cols} of {w.many}{where}.",
                           f"Show the {cols} of each {w.one}{where}.",
                           f"What are the {cols} of the {w.many}{where}?"])
    if extra.lower() == role.lower():  # "the orchestra", not "the orchestra of its orchestra"
        return rng.choice([f"List the {cols} and the {role} for {w.many}{where}.",
                           f"Show the {cols} of each {w.one}{where}, and its {role}."])
    return rng.choice([f"List the {cols} and the {extra} of its {role} for {w.many}{where}.",
                       f"Show the {cols} of each {w.one}{where}, and the {extra} of its {role}.",
                       f"For {w.many}{where}, what are their {cols} and the {extra} of their "
                       f"{role}?"])


def _join_filter_count(w: _Words, rng: random.Random) -> str:
    _, _, role, ref_where = _join_words(w)
    where = " and".join(x for x in [w.where, ref_where] if x)
    return rng.choice([f"How many {w.many}{where} are there?",
                       f"Count the {w.many}{where}.",
                       f"What is the number of {w.many}{where}?"])


def _join_anti(w: _Words, rng: random.Random) -> str:
    s = w.spec
    one, many, role, _ = _join_words(w)
    label = w.col(s["ref_label"])
    ref_where = w.cond(s.get("ref_where", []))
    if s["anti"]:
        link = f"have no {w.many}" if role == one else f"are not the {role} of any {w.one}"
    else:
        link = f"have at least one {w.one}" if role == one else f"are the {role} of some {w.one}"
    if s.get("count"):
        return rng.choice([f"How many {many}{ref_where} {link}?",
                           f"Count the {many}{ref_where} that {link}."])
    return rng.choice([f"Which {many}{ref_where} {link}? Give their {label}.",
                       f"List the {label} of {many}{ref_where} that {link}."])


def _link_list(w: _Words, rng: random.Random) -> str:
    """Through a link table: items of one side linked to a row of the other side."""
    s = w.spec
    l_one, l_many = w.namer.noun(s["table"])
    a_one, a_many = w.namer.noun(s["a"])
    b_one, _ = w.namer.noun(s["b"])
    a_label = w.col(s["a_label"])
    target = f"the {b_one} whose {w.col(s['b_col'])} is {show(s['b_value'])}"
    return rng.choice([f"Which {a_many} are linked to {target} through the {l_many}? Give "
                       f"their {a_label}.",
                       f"List the {a_label} of every {a_one} that has {article(l_one)} {l_one} "
                       f"with {target}."])


def _link_count(w: _Words, rng: random.Random) -> str:
    s = w.spec
    _, l_many = w.namer.noun(s["table"])
    _, a_many = w.namer.noun(s["a"])
    b_one, _ = w.namer.noun(s["b"])
    b_label = w.col(s["b_label"])
    return rng.choice([f"For each {b_one} (by {b_label}), how many different {a_many} are "
                       f"linked to it through {l_many}?",
                       f"Count the distinct {a_many} linked to each "
                       f"{_role_label(b_one, b_label)} through {l_many}."])


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
