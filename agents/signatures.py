"""The three DSPy signatures of the pipeline. A docstring is the instruction the model reads."""

from __future__ import annotations

from typing import Any

import dspy

_PROGRAM_RULES = (
    "Rules: every table listed under Tables is already an Ibis table variable of that name, and "
    "`ibis` and `_` (the deferred column reference) are defined: do not import, connect, load "
    "or print anything. Use Ibis methods, not pandas or SQL: filter (not query, where or loc), "
    "group_by(...).agg(...) (not groupby), order_by with ibis.desc (not sort_values), "
    "_.count() (not len), a.join(b, a.key == b.key) (not merge). Combine conditions with & and "
    "|, each in parentheses. Column names are case-sensitive. The program's value is its last "
    "expression: an Ibis table with clearly named columns. The examples answer other questions: "
    "reuse their methods, not their filters or values. Answer only this question, in as few "
    "lines as you can, without comments."
)


def _program_signature(name: str, task: str, docs: str, more: dict[str, tuple[type, Any]],
                       ) -> type[dspy.Signature]:
    """A signature that writes a program: the task, the rules, and the inputs both writers read
    (the schema, examples over it, docs) before the ones of its own."""
    fields = {
        "tables": (str, dspy.InputField(
            desc="the database's tables: columns, types, keys, values")),
        "examples": (str, dspy.InputField(desc="programs over these tables for other questions")),
        "docs": (str, dspy.InputField(desc=docs)),
        **more,
    }
    return dspy.make_signature(fields, f"{task} {_PROGRAM_RULES}", signature_name=name)


DraftIbis = _program_signature(
    "DraftIbis",
    "Write an Ibis (Python) program that answers the question over the database.",
    "Ibis API documentation that may help",
    {"question": (str, dspy.InputField(desc="the user's question about the data (last: a small "
                                            "model reads the end of a prompt best)")),
     "code": (str, dspy.OutputField(desc="the Ibis program"))},
)


class Reflect(dspy.Signature):
    """An Ibis program written for the question failed when it was run. In one or two sentences,
    say what is wrong with it and how to fix it."""

    question: str = dspy.InputField(desc="the user's question about the data")
    tables: str = dspy.InputField(desc="the database's tables: columns, types, keys, values")
    code: str = dspy.InputField(desc="the program that failed")
    feedback: str = dspy.InputField(desc="what the compile or execute tool reported")
    diagnosis: str = dspy.OutputField(desc="what is wrong and how to fix it")


Revise = _program_signature(
    "Revise",
    "Rewrite the failed Ibis program so that it runs and answers the question.",
    "Ibis API documentation for the failing part",
    {"question": (str, dspy.InputField(desc="the user's question about the data")),
     "code": (str, dspy.InputField(desc="the program that failed")),
     "feedback": (str, dspy.InputField(desc="what the compile or execute tool reported")),
     "diagnosis": (str, dspy.InputField(desc="what is wrong and how to fix it")),
     "fixed_code": (str, dspy.OutputField(desc="the corrected Ibis program"))},
)
