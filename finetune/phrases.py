"""The phrasings: filter conditions as words, and the question templates of each program kind."""

from __future__ import annotations

from typing import Any

from finetune.words import Namer, article, listing, show

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

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

# Fields every template may use: {one} and {many} (the table's noun), {where} (its filter, with
# a leading space, or ""); the rest come from the kind's words in `finetune.verbalize`.
PHRASES: dict[str, tuple[str, ...]] = {
    "count/all": (
        "How many {many} are there?", "Count all {many}.", "What is the total number of {many}?",
        "How many {many} does the database list?"),
    "count": (
        "How many {many}{where} are there?", "Count the {many}{where}.",
        "What is the number of {many}{where}?", "Find how many {many} there are{where}."),
    "list/lookup": (
        "What is the {cols} of the {one}{where}?", "Give the {cols} of the {one}{where}.",
        "Find the {cols} for the {one}{where}."),
    "list": (
        "List the {cols} of {many}{where}.", "Show the {cols} of every {one}{where}.",
        "What are the {cols} of the {many}{where}?", "Give the {cols} for all {many}{where}."),
    "sorted": (
        "List the {cols} of {many}{where}, {order}{ties}.",
        "Show the {cols} of all {many}{where}, {order}{ties}.",
        "Give the {cols} of each {one}{where}, {order}{ties}."),
    "top/one": (
        "Which {one}{where} has the {most} {by}? Give its {cols}{ties}.",
        "Find the {one}{where} with the {most} {by}; show its {cols}{ties}.",
        "What are the {cols} of the {one}{where} with the {most} {by}{ties}?"),
    "top": (
        "Which {k} {many}{where} have the {most} {by}? Give their {cols}, {most} first{ties}.",
        "List the {cols} of the {k} {many}{where} with the {most} {by}, {most} first{ties}.",
        "What are the top {k} {many}{where} by {most} {by}? Show {cols}, {most} first{ties}."),
    "distinct/pairs": (
        "List the distinct combinations of {cols} among {many}{where}.",
        "Which different pairs of {cols} occur among {many}{where}?"),
    "distinct": (
        "What are the distinct {col} values of {many}{where}?",
        "List the different {col} values among {many}{where}.",
        "Which {col} values occur among {many}{where}? List each once."),
    "nunique": (
        "How many different {col} values are there among {many}{where}?",
        "Count the distinct {col} values of {many}{where}.",
        "How many distinct {col} values do {many}{where} have?"),
    "aggregate": (
        "What {verb} the {what} of {many}{where}?", "Find the {what} over all {many}{where}.",
        "Compute the {what} among {many}{where}."),
    "group_count": (
        "How many {many}{where} are there for each {g}?", "For each {g}, count the {many}{where}.",
        "What is the number of {many}{where} per {g}?", "Count the {many}{where} grouped by {g}."),
    "group_agg": (
        "What is the {what} of {many}{where} for each {g}?",
        "For each {g}, give the {what} of {many}{where}.",
        "Show the {what} per {g} over {many}{where}."),
    "group_top/value/one": (
        "Which {g} has the {most} {what} among {many}{where}? Give the {g} and that value{ties}.",
        "Among {many}{where}, which {g} has the {most} {what}? Show it with the value{ties}."),
    "group_top/value": (
        "Which {k} {g} values have the {most} {what} of {many}{where}? Give each with the value, "
        "{most} first{ties}.",),
    "group_top/one": (
        "Which {g} has the {most} {many}{where}? Give it with the count{ties}.",
        "Find the {g} with the {most} {many}{where}, and how many there are{ties}."),
    "group_top": (
        "What are the {k} {g} values with the {most} {many}{where}? Show each with its count, "
        "{most} first{ties}.",
        "List the top {k} {g} values by number of {many}{where}, {most} first, with the "
        "counts{ties}."),
    "group_sorted/value": (
        "What is the {what} of {many}{where} for each {g}? Sort by that value, {most} "
        "first{ties}.",),
    "group_sorted": (
        "How many {many}{where} are there for each {g}? Order by the count, {most} first{ties}.",
        "Count the {many}{where} per {g}, {most} first{ties}."),
    "having/value": (
        "Which {g} values have an {what} {word} {value} among their {many}{where}?{also}",
        "For which {g} is the {what} of {many}{where} {word} {value}?{also}"),
    "having": (
        "Which {g} values have {word} {value} {noun}{where}?{also}",
        "List the {g} values shared by {word} {value} {noun}{where}.{also}"),
    "ratio/group": (
        "For each {g}, what percentage of {many}{where}{have}?",
        "What share (in percent) of the {many}{where} in each {g} are ones{whose}?"),
    "ratio": (
        "What percentage of {many}{where}{have}?",
        "Of all {many}{where}, what share in percent are ones{whose}?",
        "What percent of the {many}{where}{have}?"),
    "share": (
        "What percentage of all {many}{where} falls in each {g}? Give the count and the "
        "percentage.",
        "For each {g}, how many {many}{where} are there and what share (in percent) of the total "
        "is that?"),
    "rank": (
        "Rank the {many}{where} by {by}, {most} first (rank 1 = {most}, equal values share a "
        "rank). Give the {cols} and the rank.",
        "Give each {one}{where} a rank by {by} where 1 is the {most} and ties share the same "
        "rank; show {cols} and the rank."),
    "top_per_group": (
        "For each {g}, which {one}{where} has the {most} {by}? Give the {cols}{ties}.",
        "Find the {one} with the {most} {by} in every {g}{where}; show {cols}{ties}."),
    "vs_group": (
        "For each {one}{where}, how much does its {col} differ from the average {col} of {many} "
        "with the same {g}? Give the {cols} and the difference ({col} minus that average).",
        "Show the {cols} of every {one}{where} together with its {col} minus the average {col} "
        "of its {g}."),
    "running": (
        "List the {cols} of {many}{where} in order of {by} (ascending), with the running total "
        "of {col} up to each row.",
        "Going through {many}{where} by increasing {by}, show {cols} and the cumulative sum of "
        "{col}."),
    "date_group/value": (
        "What is the {what} of {many}{where} for each {part} of their {col}?",
        "Group the {many}{where} by the {part} of their {col} and give the {what}."),
    "date_group": (
        "How many {many}{where} are there for each {part} of their {col}?",
        "Count the {many}{where} by the {part} of their {col}.",
        "For each {part} of the {col}, how many {many}{where} are there?"),
    "join_count/role": (
        "How many {many}{where} are there for each {role}?",
        "For each {role}, count the {many}{where}."),
    "join_count/shared": (
        "Count the {many}{where} per {role_label}.",
        "How many {many}{where} are there for each {role_label}?"),
    "join_count": (
        "How many {many}{where} are there for each {role}? Identify the {role} by its {label}.",
        "For each {role} (by {label}), count the {many}{where}.",
        "Count the {many}{where} per {role_label}."),
    "join_agg": (
        "What is the {what} of {many}{where} for each {role}? Identify the {role} by its "
        "{label}.",
        "For each {role_label}, give the {what} of their {many}{where}."),
    "join_top": (
        "Which {role} has the {most} {many}{where}? Give its {label} and the count{ties}.",
        "Find the {role_label} with the {most} {many}{where}, with the number{ties}."),
    "join_list/ref": (
        "List the {ref_cols} of the {role} of each {one}{where}.",
        "For every {one}{where}, give the {ref_cols} of its {role}."),
    "join_list/own": (
        "List the {cols} of {many}{where}.", "Show the {cols} of each {one}{where}.",
        "What are the {cols} of the {many}{where}?"),
    "join_list/role": (
        "List the {cols} and the {role} for {many}{where}.",
        "Show the {cols} of each {one}{where}, and its {role}."),
    "join_list": (
        "List the {cols} and the {ref_cols} of its {role} for {many}{where}.",
        "Show the {cols} of each {one}{where}, and the {ref_cols} of its {role}.",
        "For {many}{where}, what are their {cols} and the {ref_cols} of their {role}?"),
    "join_filter_count": (
        "How many {many}{where} are there?", "Count the {many}{where}.",
        "What is the number of {many}{where}?"),
    "join_anti/count": (
        "How many {refs}{ref_where} {link}?", "Count the {refs}{ref_where} that {link}."),
    "join_anti": (
        "Which {refs}{ref_where} {link}? Give their {label}.",
        "List the {label} of {refs}{ref_where} that {link}."),
    "link_list": (
        "Which {a_many} are linked to {target} through the {l_many}? Give their {a_label}.",
        "List the {a_label} of every {a_one} that has {a_link} with {target}."),
    "link_count": (
        "For each {b_one} (by {b_label}), how many different {a_many} are linked to it through "
        "{l_many}?",
        "Count the distinct {a_many} linked to each {b_role_label} through {l_many}."),
}
# Where rows that share a label are grouped by it, only the phrasing that says so fits.
PHRASES["join_agg/shared"] = PHRASES["join_agg"][-1:]
PHRASES["join_top/shared"] = PHRASES["join_top"][-1:]
