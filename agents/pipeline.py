"""The ask pipeline: retrieve -> draft -> compile -> execute_on_sample -> (reflect -> retrieve on
the error -> revise)* -> run the accepted program read-only on the full data -> answer.

Every step lands in a Trace, written when the run ends, also when it is interrupted.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

import retrieval
from agents.adapter import CLOSING_FENCE, CODE_FIELDS, OPENING_FENCE, CodeAdapter
from agents.config import AgentConfig
from agents.examples import schema_examples
from agents.grammar import program_grammar
from agents.hints import hint
from agents.linking import link_tables
from agents.lm.constrain import constrained
from agents.shots import ShotBank, render
from agents.signatures import DraftIbis, Reflect, Revise
from agents.tidy import tidy
from agents.traces import Step, Trace, TraceStore
from tools.calls import compile_code, execute, execute_on_sample
from tools.database import Database
from tools.records import ToolResult
from tools.sandbox import Limits, Sandbox, default_sandbox
from tools.schema import Schema


@dataclass(frozen=True)
class Attempt:
    """A program and what the tools said about it."""

    code: str
    result: ToolResult  # the last tool result: compile failure, execute failure, or the run
    hint: str | None = None  # how to fix a failure, when a rule in agents.hints knows

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def feedback(self) -> str:
        if self.ok:
            return self.result.output
        return self.result.error + (f"\nHint: {self.hint}" if self.hint else "")


class IbisAgent(dspy.Module):
    """Answers questions over one database by writing and checking Ibis programs."""

    def __init__(
        self,
        db: Database,
        schema: Schema,
        config: AgentConfig | None = None,
        sandbox: Sandbox | None = None,
        store: TraceStore | None = None,
        model: str = "unknown",
        adapter_name: str | None = None,
        shots: ShotBank | None = None,
    ) -> None:
        super().__init__()
        self.db, self.schema = db, schema
        self.shots = shots  # verified pairs over this database, recalled by similarity
        self.config = config or AgentConfig()
        self.sandbox = sandbox or default_sandbox()
        self.store = store
        self.model, self.adapter_name = model, adapter_name
        self.program: str | None = None  # the optimized program file loaded, if any
        self.adapter = CodeAdapter()
        self.draft = dspy.Predict(DraftIbis)
        self.reflect = dspy.Predict(Reflect)
        self.revise = dspy.Predict(Revise)
        self._tables = schema.render()
        self._table_names = [t.name for t in schema.tables]
        self._terms = retrieval.schema_terms(schema)
        self._constrained: dict[int, tuple[Any, Any]] = {}  # id(lm) -> (lm, its copy or None)

    def deepcopy(self) -> IbisAgent:
        """A copy with its own modules (demos, instructions) that shares the database, sandbox,
        trace store and LM: DSPy's optimizers copy programs often, and those are not copyable
        (a socket, a connection, a loaded model)."""
        new = copy.copy(self)
        for name, predictor in self.named_predictors():
            lm, predictor.lm = predictor.lm, None
            try:
                clone = copy.deepcopy(predictor)
            finally:
                predictor.lm = lm
            clone.lm = lm
            setattr(new, name, clone)
        return new

    def __deepcopy__(self, memo: dict) -> IbisAgent:
        return self.deepcopy()

    def forward(self, question: str, task_id: str | None = None,
                temperature: float | None = None, sample: int = 0,
                check: Callable[[str], bool | None] | None = None) -> dspy.Prediction:
        """Answer `question`. `temperature` samples the drafts and revisions (sample `sample` of
        several, so each draws fresh from the LM instead of its cache). `check` judges a
        verified program against a known answer; its verdict is the trace's `correct`."""
        sampling = {} if temperature is None else {"temperature": temperature,
                                                   "rollout_id": sample}
        trace = Trace(question=question, db=self.db.name, schema_hash=self.schema.hash,
                      model=self.model, adapter=self.adapter_name, config_hash=self.config.hash,
                      task_id=task_id)
        try:
            with dspy.context(adapter=self.adapter):
                attempt = self._solve(question, trace, sampling)
            answer = self._answer(attempt, trace)
            if check is not None:
                trace.correct = check(attempt.code) if trace.verified else False
        finally:
            if self.store is not None:
                self.store.append(trace)  # also on Ctrl-C: the steps so far are kept
        return dspy.Prediction(
            code=attempt.code, sql=trace.final_sql, verified=trace.verified, answer=answer,
            attempt=attempt, trace=trace,
        )

    def draft_inputs(self, question: str, trace: Trace | None = None) -> dict[str, str]:
        """The draft module's inputs for `question`; fine-tuning data is built from these too."""
        docs = self._docs(retrieval.question_query(question, self._terms), trace, "retrieve")
        linked = (link_tables(question, self.schema) if self.config.link_tables
                  else [t.name for t in self.schema.tables])
        tables = self.schema.render(linked) if self.config.link_tables else self._tables
        examples = self._examples(question, linked, trace) if self.config.examples else ""
        return {"question": question, "tables": tables, "examples": examples, "docs": docs}

    def _examples(self, question: str, linked: list[str], trace: Trace | None) -> str:
        """Pairs drawn from the schema (one per common shape, over the question's columns),
        then the nearest verified pairs from the database's bank, when it has one."""
        drawn = schema_examples(self.schema, linked, question)
        if self.shots is None or not len(self.shots) or self.config.shots_k == 0:
            return drawn
        start = time.perf_counter()
        shots = self.shots.similar(question, self.config.shots_k)
        if trace is not None:
            trace.steps.append(Step(name="recall", inputs={"question": question},
                                    outputs={"questions": [s.question for s in shots]},
                                    seconds=time.perf_counter() - start))
        return "\n".join(part for part in (drawn, render(shots)) if part)

    def _solve(self, question: str, trace: Trace, sampling: dict[str, Any]) -> Attempt:
        inputs = self.draft_inputs(question, trace)
        codes = self._call(self.draft, inputs, trace, "draft", "code", sampling)
        if self.config.candidates > 1:  # more drafts sampled beside it, the prompt prefilled
            codes += self._call(self.draft, inputs, trace, "draft", "code",
                                self._resample(sampling, 200), self.config.candidates - 1)
        attempt = self._pick([self._check(code, trace) for code in codes], trace)
        if (not attempt.ok and self.config.constrain_retry and not self.config.constrain
                and self._constrained_lm(self.draft) is not None):  # else it would repeat
            (code,) = self._call(self.draft, inputs, trace, "constrained_draft", "code",
                                 {}, constrain=True)
            retry = self._check(code, trace)
            attempt = retry if retry.ok else attempt
        if not attempt.ok and self.config.redrafts:
            attempt = self._redraft(inputs, attempt, trace, sampling)
        tried = {attempt.code}
        for round_ in range(self.config.rounds):
            if attempt.ok:
                break
            attempt = self._revise(question, inputs, attempt, trace, sampling, tried, round_)
            tried.add(attempt.code)
        return attempt

    def _redraft(self, inputs: dict[str, str], failed: Attempt, trace: Trace,
                 sampling: dict[str, Any]) -> Attempt:
        """Sample the draft prompt again and vote among the programs that work. On a local
        runtime this is cheap next to a revise round: the prompt is already prefilled, only
        the short programs are decoded, while a revision's new prompt is prefilled anew."""
        codes = self._call(self.draft, inputs, trace, "redraft", "code",
                           self._resample(sampling, 100), self.config.redrafts)
        seen = {failed.code}
        attempts = [failed]
        for code in codes:
            if tidy(code, self._table_names) not in seen:  # a repeat fails the same way
                seen.add(tidy(code, self._table_names))
                attempts.append(self._check(code, trace))
        working = [a for a in attempts if a.ok]
        return self._pick(working, trace) if working else failed

    def _resample(self, sampling: dict[str, Any], offset: int) -> dict[str, Any]:
        """Sampling settings for more drafts: fresh draws, not the response cache's."""
        return {"temperature": self.config.temperature,
                "rollout_id": offset + int(sampling.get("rollout_id", 0))}

    def _revise(self, question: str, inputs: dict[str, str], failed: Attempt, trace: Trace,
                sampling: dict[str, Any], tried: set[str], round_: int) -> Attempt:
        base = {"question": question, "tables": inputs["tables"], "code": failed.code,
                "feedback": failed.feedback}
        if self.config.reflect:
            (diagnosis,) = self._call(self.reflect, base, trace, "reflect", "diagnosis",
                                      sampling)
        else:
            diagnosis = failed.hint or ""
        query = retrieval.error_query(failed.result.error, failed.code, self._terms)
        docs = self._docs(query, trace, "retrieve_on_error")
        ask = {**base, "examples": inputs["examples"], "docs": docs, "diagnosis": diagnosis}
        (code,) = self._call(self.revise, ask, trace, "revise", "fixed_code", sampling)
        if tidy(code, self._table_names) in tried:
            # The same program again fails the same way: say so and sample a different one
            # (greedy decoding, or the response cache, would repeat it).
            ask["feedback"] += ("\nYou already wrote this exact program and it failed. Write "
                                "a different program.")
            retry = {"temperature": max(self.config.temperature, 0.7),
                     "rollout_id": 1000 + round_ + 10 * int(sampling.get("rollout_id", 0))}
            (code,) = self._call(self.revise, ask, trace, "revise", "fixed_code", retry)
        return self._check(code, trace)

    def _check(self, code: str, trace: Trace) -> Attempt:
        """Tidy away scaffolding, then compile, then execute_on_sample if it compiled."""
        code = tidy(code, self._table_names)
        compiled = self._tool(trace, "compile",
                              lambda: compile_code(code, self.schema, dialect=self.db.dialect,
                                                   sandbox=self.sandbox), code)
        if not compiled.ok:
            return self._failed(code, compiled)
        limits = Limits(max_rows=self.config.vote_rows)
        ran = self._tool(trace, "execute_on_sample",
                         lambda: execute_on_sample(code, self.db, sandbox=self.sandbox,
                                                   limits=limits), code)
        return Attempt(code, ran) if ran.ok else self._failed(code, ran)

    def _failed(self, code: str, result: ToolResult) -> Attempt:
        return Attempt(code, result, hint(result.error, code, self.schema, self._table_names))

    def _pick(self, attempts: list[Attempt], trace: Trace) -> Attempt:
        """Self-consistency: the program whose sample result most candidates agree on."""
        if len(attempts) == 1:
            return attempts[0]
        working = [a for a in attempts if a.ok]
        if not working:
            return attempts[0]
        votes = Counter(fingerprint(a.result) for a in working)
        best, count = votes.most_common(1)[0]
        chosen = next(a for a in working if fingerprint(a.result) == best)
        trace.steps.append(Step(name="vote", inputs={"candidates": len(attempts),
                                                     "working": len(working)},
                                outputs={"agreeing": count, "code": chosen.code}))
        return chosen

    def _answer(self, attempt: Attempt, trace: Trace) -> dict[str, Any]:
        trace.final_code = attempt.code
        if not attempt.ok:
            return {"ok": False, "error": attempt.feedback}
        full = self._tool(trace, "execute_full",
                          lambda: execute(attempt.code, self.db, sandbox=self.sandbox,
                                          max_rows=self.config.answer_rows), attempt.code)
        trace.final_sql = full.sql or attempt.result.sql
        trace.verified = full.ok
        if not full.ok:
            return {"ok": False, "error": full.error}
        return {"ok": True, "columns": full.preview["columns"], "types": full.preview["types"],
                "rows": full.preview["rows"], "row_count": full.rows}

    def _call(self, predictor: dspy.Predict, inputs: dict[str, Any], trace: Trace, name: str,
              field: str, sampling: dict[str, Any], n: int = 1,
              constrain: bool | None = None) -> list[str]:
        """One module call, recorded with the exact messages the model saw. Programs are
        written within the grammar when `constrain` says so (default: the config's)."""
        messages = self.adapter.format(predictor.signature, predictor.demos, inputs)
        if field in CODE_FIELDS:
            config: dict[str, Any] = {"stop": [CLOSING_FENCE]}  # nothing useful follows the block
        else:  # prose: a code block in a diagnosis is copied by the revision, so stop there
            config = {"max_tokens": self.config.reflect_max_tokens, "stop": [OPENING_FENCE]}
        config |= sampling
        if n > 1:
            config |= {"n": n}
        if constrain is None:
            constrain = self.config.constrain and field in CODE_FIELDS
        lm = self._constrained_lm(predictor) if constrain else None
        start = time.perf_counter()
        try:
            with dspy.context(track_usage=True):
                prediction = predictor(**inputs, config=config,
                                       **({"lm": lm} if lm is not None else {}))
            values = [str(v) for v in prediction.completions[field]]
            tokens = _completion_tokens(prediction)
        except AdapterParseError:  # an empty reply: the tools will say "empty program"
            values, tokens = [""] * n, 0
        trace.steps.append(Step(
            name=name, inputs=inputs, outputs={field: values if n > 1 else values[0]},
            messages=messages, seconds=time.perf_counter() - start, tokens=tokens,
        ))
        return values

    def _constrained_lm(self, predictor: dspy.Predict) -> Any:
        """The LM to write programs with under the grammar: a copy of the predictor's (or the
        context's) LM held to this database's program grammar; None when there is no LM, or
        when the backend cannot constrain (then programs are written unconstrained)."""
        lm = predictor.lm or dspy.settings.lm
        if lm is None:
            return None
        if id(lm) not in self._constrained:  # the LM is kept too, so its id stays its own
            self._constrained[id(lm)] = (lm, constrained(lm, program_grammar(self.schema)))
        return self._constrained[id(lm)][1]

    def _tool(self, trace: Trace, name: str, call: Callable[[], ToolResult], code: str
              ) -> ToolResult:
        result = call()
        trace.steps.append(Step(name=name, inputs={"code": code}, tool_result=result.to_dict(),
                                seconds=result.seconds))
        return result

    def _docs(self, query: str, trace: Trace | None, name: str) -> str:
        if self.config.docs_k == 0:
            return ""
        start = time.perf_counter()
        # An empty query means a data error (say, a misspelt column): no API doc helps.
        docs = retrieval.search(query, self.config.docs_k) if query else []
        if trace is not None:
            trace.steps.append(Step(name=name, inputs={"query": query},
                                    outputs={"docs": [d.id for d in docs]},
                                    seconds=time.perf_counter() - start))
        return "\n\n".join(d.snippet() for d in docs)


def answer_fields(prediction: dspy.Prediction) -> dict[str, Any]:
    """A run's answer as plain data: the table (or the error), the program and its SQL. What
    `ask --json`, the web API and MCP return is this plus their own fields."""
    trace, answer = prediction.trace, prediction.answer
    return {
        "question": trace.question,
        "db": trace.db,
        "ok": bool(answer.get("ok")),
        "error": answer.get("error"),
        "columns": answer.get("columns"),
        "types": answer.get("types"),
        "rows": answer.get("rows"),
        "row_count": answer.get("row_count"),
        "code": prediction.code,
        "sql": prediction.sql,
    }


def fingerprint(result: ToolResult) -> tuple:
    """A result's identity for voting: row count and rows as multisets, names and order ignored."""
    rows = result.preview.get("rows", []) if result.preview else []
    normalized = sorted(tuple(sorted(repr(_round(v)) for v in row)) for row in rows)
    return result.rows, tuple(normalized)


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _completion_tokens(prediction: dspy.Prediction) -> int:
    usage = prediction.get_lm_usage() or {}
    return sum(int(u.get("completion_tokens") or 0) for u in usage.values())
