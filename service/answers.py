"""What the API returns for a run: the answer, the program, its SQL, a chart, the trace id,
and each step in brief (the stream sends the same briefs as the steps happen)."""

from __future__ import annotations

import math
from typing import Any

from agents.pipeline import answer_fields
from agents.traces import Step
from service.chart import chart

ANSWER_VERSION = 1
_DETAIL = 600  # characters of a step's detail: enough for a program, not for a prompt


def answer_record(prediction: Any) -> dict[str, Any]:
    fields = answer_fields(prediction)
    ok, answer = fields["ok"], prediction.answer
    return {
        "version": ANSWER_VERSION,
        "trace_id": prediction.trace.trace_id,
        **fields,
        "chart": chart(answer["columns"], answer["types"], answer["rows"]) if ok else None,
        "steps": [step_brief(s) for s in prediction.trace.steps],
    }


def step_brief(step: Step) -> dict[str, Any]:
    """A step as the page shows it: its name, time, tokens, and what it found or failed on."""
    brief: dict[str, Any] = {"name": step.name, "seconds": round(step.seconds, 3),
                             "tokens": step.tokens}
    tool = step.tool_result
    if tool is not None:
        brief |= {"ok": tool["ok"], "kind": tool["kind"],
                  "detail": _short(tool["output"] if tool["ok"] else tool["error"])}
    else:
        brief["detail"] = _short("; ".join(
            str(v) if not isinstance(v, list) else ", ".join(map(str, v))
            for v in step.outputs.values()))
    return brief


def _short(text: Any) -> str:
    text = str(text or "")
    return text if len(text) <= _DETAIL else text[: _DETAIL - 1] + "…"


def clean(value: Any) -> Any:
    """`value` with NaN and infinities as null, so browsers can parse its JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
