"""Names into words: column and table names as English, plurals, identifiers, values as shown."""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable
from typing import Any

# Abbreviations in column and table names, lower-cased, and the words they stand for.
ABBREVIATIONS = dict(
    id="ID", uid="ID", num="number", no="number", nbr="number", avg="average", qty="quantity",
    amt="amount", pct="percent", dept="department", desc="description", addr="address",
    dob="date of birth", yr="year", ht="height", wt="weight", stu="student", fname="first name",
    lname="last name", cont="continent", indep="independence", arr="arrival", dep="departure",
    sched="scheduled", dest="destination", tailnum="tail number", temp="temperature",
    precip="precipitation", visib="visibility", humid="humidity", dewp="dew point", dir="direction",
    lat="latitude", lon="longitude", lng="longitude", alt="altitude", tz="time zone",
    tzone="time zone name", dst="daylight saving code", max="maximum", min="minimum", cnt="count",
    tot="total", edispl="engine displacement", accel="acceleration", yn="(yes/no)", hight="high",
    mgr="manager", emp="employee", info="information", cd="code", nm="name", dt="date",
    svpt="serve points", bp="break points", df="double faults", ace="aces", faa="FAA code",
    ioc="IOC country", m="(millions)", sal="salary"
)
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
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


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
