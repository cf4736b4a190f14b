"""Prompt optimization with DSPy's compiler: the pipeline's modules compiled against EX on a
database's training tasks and scored on its dev tasks.

The test split never enters: `optimize` refuses any task whose split is "test", so a compiled
program's test score stays a score on questions it never saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import dspy

from agents.config import NEEDS_PROMPT_MODEL, OPTIMIZERS, ConfigError
from agents.pipeline import IbisAgent
from harness.judge import Judge
from harness.tasks import Task
from harness.tracking import Tracker


class OptimizeError(ConfigError):
    """Optimization cannot run as asked (no tasks, test tasks, missing prompt model)."""


@dataclass(frozen=True)
class OptimizeConfig:
    optimizer: str = field(default="bootstrap",
                           metadata={"help": "one of " + ", ".join(OPTIMIZERS)})
    max_demos: int = field(default=2, metadata={"help": "bootstrapped demos per module"})
    candidates: int = field(default=4, metadata={
        "help": "random-search: candidate programs; mipro: instruction and demo-set candidates "
                "per module"})
    # The explicit budgets below fit a 2-core CPU (about 40 minutes each for the 0.5B as task
    # model and the 1.5B as prompt model); DSPy's "light" preset runs many times more calls.
    trials: int = field(default=6, metadata={"help": "mipro: Bayesian-search trials"})
    minibatch: int = field(default=8, metadata={
        "help": "mipro: dev tasks per trial (at most the dev set; a full dev pass every 5)"})
    metric_calls: int = field(default=80, metadata={
        "help": "gepa: program runs in all, reflection minibatches and dev passes included"})
    auto: str | None = field(default=None, metadata={
        "help": "mipro/gepa: DSPy's preset budget (light, medium, heavy) instead of the above"})
    threads: int = field(default=1, metadata={"help": "tasks evaluated at once (server backend)"})
    log_dir: str | None = field(default=None, metadata={
        "help": "gepa: folder for its state; a killed run given the same folder resumes"})
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise OptimizeError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not "
                                f"{self.optimizer!r}")
        if self.auto not in (None, "light", "medium", "heavy"):
            raise OptimizeError(f"auto must be light, medium or heavy, not {self.auto!r}")
        if not (0 <= self.max_demos <= 16 and 1 <= self.candidates <= 64
                and 1 <= self.threads <= 64):
            raise OptimizeError("max_demos must be 0-16, candidates 1-64 and threads 1-64")
        if not (1 <= self.trials <= 1000 and 1 <= self.minibatch <= 1000
                and 1 <= self.metric_calls <= 100_000):
            raise OptimizeError("trials and minibatch must be 1-1000, metric_calls 1-100000")


def to_examples(tasks: list[Task], role: str, scoring_only: bool = False) -> list[dspy.Example]:
    """Tasks as DSPy examples; refuses tasks without a gold program, and the test split unless
    the examples are `scoring_only` (a final evaluation, never an optimization step)."""
    if not tasks:
        raise OptimizeError(f"no {role} tasks")
    for task in tasks:
        if task.split == "test" and not scoring_only:
            raise OptimizeError(f"{role} task {task.id} is in the test split; the test split "
                                "is kept out of optimization")
        if not task.gold_code:
            raise OptimizeError(f"{role} task {task.id} has no gold program to score against")
    return [dspy.Example(question=t.question, task_id=t.id, gold_code=t.gold_code,
                         ordered=t.ordered).with_inputs("question", "task_id") for t in tasks]


def ex_metric(agent: IbisAgent, judge: Judge, feedback: bool = False) -> Callable[..., Any]:
    """EX as a DSPy metric: 1.0 when the verified program gives the gold result, else 0.0.

    With `feedback` (GEPA), a `dspy.Prediction(score, feedback)` whose text is what the tools
    said, so the reflection model sees the compile/execute errors."""

    def metric(example: dspy.Example, prediction: dspy.Prediction, trace: Any = None,
               pred_name: str | None = None, pred_trace: Any = None) -> Any:
        correct = bool(prediction.verified) and bool(judge.correct(
            prediction.code, example.task_id, example.gold_code, agent.db, example.ordered))
        if not feedback:
            return float(correct)
        attempt = prediction.attempt
        if correct:
            text = "Correct: the program's result matches the expected answer."
        elif not attempt.ok:
            text = f"The program failed ({attempt.result.kind}): {attempt.feedback}"
        else:
            text = ("The program ran but its result differs from the expected answer. "
                    f"A correct program: {example.gold_code}")
        return dspy.Prediction(score=float(correct), feedback=text)

    return metric


def score(agent: IbisAgent, examples: list[dspy.Example], metric: Callable[..., Any],
          threads: int = 1, progress: bool = True) -> float:
    """EX of `agent` over `examples`, between 0 and 1."""
    evaluate = dspy.Evaluate(devset=examples, metric=metric, num_threads=threads,
                             display_progress=progress, max_errors=len(examples) + 1)
    return round(evaluate(agent).score / 100, 4)


def require_prompt_model(optimizer: str, has_one: bool) -> None:
    """Refuse an optimizer that needs a prompt model when there is none."""
    if optimizer in NEEDS_PROMPT_MODEL and not has_one:
        raise OptimizeError(f"{optimizer} needs a prompt model (--prompt-model: a catalogue "
                            "name such as qwen2.5-coder-1.5b, a model folder, or a served "
                            "name with --prompt-api-base); with the task model alone use "
                            "bootstrap or random-search")


def optimize(agent: IbisAgent, train: list[Task], dev: list[Task], config: OptimizeConfig,
             judge: Judge, prompt_lm: dspy.LM | None = None, progress: bool = True,
             tracker: Tracker | None = None) -> tuple[IbisAgent, dict[str, Any]]:
    """Compile `agent` with the chosen optimizer; return it and a report (dev EX before/after).
    The optimizer's own log (MIPROv2's trials, GEPA's candidates) goes to `tracker`."""
    require_prompt_model(config.optimizer, prompt_lm is not None)
    trainset, devset = to_examples(train, "train"), to_examples(dev, "dev")
    metric = ex_metric(agent, judge)
    before = score(agent, devset, metric, config.threads, progress)
    started = time.perf_counter()
    lm = agent.draft.lm
    # Optimizers reset the copies they compile, LM included: the context LM stands in.
    with dspy.context(lm=lm):
        compiled = _compile(agent, trainset, devset, config, judge, metric, prompt_lm)
    compiled.set_lm(lm)
    seconds = time.perf_counter() - started
    after = score(compiled, devset, metric, config.threads, progress)
    demos = {name: len(p.demos) for name, p in compiled.named_predictors()}
    log = optimizer_log(compiled)
    if tracker is not None and log:
        tracker.table(f"{config.optimizer}_log", ["step", "score", "kind"], log)
    return compiled, {"optimizer": config.optimizer, "config": asdict(config),
                      "dev_ex_before": before, "dev_ex": after, "optimize_s": round(seconds, 1),
                      "train_n": len(trainset), "dev_n": len(devset), "demos": demos,
                      "instructions": instructions(compiled), "log": log}


def instructions(agent: IbisAgent) -> dict[str, str]:
    """Each module's instruction, as compiled (MIPROv2 and GEPA rewrite them)."""
    return {name: p.signature.instructions for name, p in agent.named_predictors()}


def optimizer_log(compiled: Any) -> list[list[Any]]:
    """[step, score, kind] rows of what the optimizer tried: MIPROv2's trials (minibatch or
    full dev scores), GEPA's candidates (their dev score). Empty for the bootstrap optimizers."""
    rows = []
    for trial, entry in sorted(getattr(compiled, "trial_logs", {}).items()):
        for kind in ("mb", "full_eval"):
            if f"{kind}_score" in entry:
                rows.append([trial, float(entry[f"{kind}_score"]), kind])
    results = getattr(compiled, "detailed_results", None)
    for i, value in enumerate(getattr(results, "val_aggregate_scores", None) or []):
        rows.append([i, float(value), "candidate"])
    return rows


def _compile(agent: IbisAgent, trainset: list[dspy.Example], devset: list[dspy.Example],
             config: OptimizeConfig, judge: Judge, metric: Callable[..., Any],
             prompt_lm: dspy.LM | None) -> IbisAgent:
    demos = {"max_bootstrapped_demos": config.max_demos, "max_labeled_demos": 0}
    # Labeled demos are off: a raw task has no inputs for reflect/revise, only verified traces do.
    if config.optimizer == "bootstrap":
        return dspy.BootstrapFewShot(metric=metric, max_rounds=1, **demos).compile(
            agent, trainset=trainset)
    if config.optimizer == "random-search":
        return dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, num_candidate_programs=config.candidates, num_threads=config.threads,
            **demos).compile(agent, trainset=trainset, valset=devset)
    if config.optimizer == "mipro":
        budget = {} if config.auto else {"num_trials": config.trials,
                                         "minibatch_size": min(config.minibatch, len(devset))}
        return dspy.MIPROv2(
            metric=metric, prompt_model=prompt_lm, task_model=agent.draft.lm, auto=config.auto,
            # No log_dir: MIPROv2 saves candidates with their LM, and an in-process one cannot be.
            num_candidates=None if config.auto else config.candidates,
            num_threads=config.threads, seed=config.seed, **demos,
        ).compile(agent, trainset=trainset, valset=devset, **budget)
    budget = {"auto": config.auto} if config.auto else {"max_metric_calls": config.metric_calls}
    # Every module each iteration: round robin would spend iterations on reflect and revise,
    # which never run when drafts pass (or with rounds=0), so have nothing to reflect on.
    return dspy.GEPA(metric=ex_metric(agent, judge, feedback=True), reflection_lm=prompt_lm,
                     component_selector="all", num_threads=config.threads, seed=config.seed,
                     log_dir=config.log_dir, track_stats=True,
                     **budget).compile(agent, trainset=trainset, valset=devset)
