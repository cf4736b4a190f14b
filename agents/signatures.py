"""The three DSPy signatures of the pipeline. A docstring is the instruction the model reads."""

from __future__ import annotations

import dspy

_PROGRAM_RULES = (
    "Each table is a variable named after it; `ibis` and `_` (the deferred column reference) "
    "are available. Do not import anything. The program's value is its last expression: an ibis "
    "table with clearly named columns."
)


class DraftIbis(dspy.Signature):
    __doc__ = (
        "Write an Ibis (Python) program that answers the question over the database. "
        + _PROGRAM_RULES
    )

    question: str = dspy.InputField(desc="the user's question about the data")
    tables: str = dspy.InputField(desc="the database's tables: columns, types, keys, values")
    docs: str = dspy.InputField(desc="Ibis API documentation that may help")
    code: str = dspy.OutputField(desc="the Ibis program")


class Reflect(dspy.Signature):
    """An Ibis program written for the question failed when it was run. In one or two sentences,
    say what is wrong with it and how to fix it."""

    question: str = dspy.InputField(desc="the user's question about the data")
    tables: str = dspy.InputField(desc="the database's tables: columns, types, keys, values")
    code: str = dspy.InputField(desc="the program that failed")
    feedback: str = dspy.InputField(desc="what the compile or execute tool reported")
    diagnosis: str = dspy.OutputField(desc="what is wrong and how to fix it")


class Revise(dspy.Signature):
    __doc__ = (
        "Rewrite the failed Ibis program so that it runs and answers the question. "
        + _PROGRAM_RULES
    )

    question: str = dspy.InputField(desc="the user's question about the data")
    tables: str = dspy.InputField(desc="the database's tables: columns, types, keys, values")
    docs: str = dspy.InputField(desc="Ibis API documentation for the failing part")
    code: str = dspy.InputField(desc="the program that failed")
    feedback: str = dspy.InputField(desc="what the compile or execute tool reported")
    diagnosis: str = dspy.InputField(desc="what is wrong and how to fix it")
    fixed_code: str = dspy.OutputField(desc="the corrected Ibis program")
