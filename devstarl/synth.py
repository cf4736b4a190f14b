"""`devstarl synth` and `devstarl eval`: the pipeline over a task file, and its scores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agents.config import AgentConfig
from agents.lm import LMConfig
from devstarl.ask import Program
from devstarl.options import agent_options, model_options
from serving.env import default_batch, has_gpu
from tools.stopping import on_stop, stop_on_signals

out = Console()


def default_workers(lm_config: LMConfig) -> int:
    """Tasks run at once unless told: 1 in-process (one model answers one call at a time);
    against a server, the batch `devstarl serve` decodes on this machine, so that the server
    always has a full batch in flight."""
    return 1 if lm_config.backend == "local" else default_batch(has_gpu())

Workers = Annotated[int | None, typer.Option(
    help="Tasks run at once. Default: 1 in-process; on a server backend, the batch `devstarl "
         f"serve` decodes ({default_batch(True)} with a GPU, {default_batch(False)} without), "
         "so the server stays full.")]
Samples = Annotated[int, typer.Option(help="Answers per task, sampled, for pass@k.")]
Split = Annotated[str | None, typer.Option(help="Only tasks of this split (train, dev, test).")]
Limit = Annotated[int | None, typer.Option(help="Only the first N tasks.")]
ReportDir = Annotated[Path | None, typer.Option(
    "--report", help="Folder for the report (default: beside the results file).")]


@model_options()
@agent_options(docs=True)
def synth(
    tasks: Annotated[Path, typer.Argument(help="Task file (JSONL).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Results file (JSONL).")],
    workers: Workers = None,
    samples: Samples = 1,
    split: Split = None,
    limit: Limit = None,
    run_eval: Annotated[bool, typer.Option("--eval", help="Score the results when done.")] = False,
    report: ReportDir = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    program: Program = None,
    server_wait: Annotated[float, typer.Option(
        help="Seconds to wait for a model server that stopped answering (a restart) before "
             "the run fails; its tasks start again when it is back.")] = 600.0,
    db: Annotated[str | None, typer.Option(
        "--db", help="Run every task on this database instead of its own: the same tables on "
                     "another engine (e.g. postgres://reader:...@host/nycflights13).")] = None,
    *,
    config: AgentConfig,
    lm: LMConfig,
) -> None:
    """Run the pipeline over a task file; resumable (finished task ids are skipped).

    Ctrl-C or SIGTERM stops it within seconds: finished tasks stay in the results file, the
    ones in flight are abandoned, and exit status is 130 or 143 (see tools.stopping)."""
    stop_on_signals()
    not_yet = on_stop(lambda: f"no task started; {output} unchanged")  # synthesize says more
    from agents.lm import make_lm
    from agents.session import with_registered_adapter
    from finetune.shots import ensure_shots
    from harness.synth import SynthConfig, run_record, synthesize
    from harness.tasks import load_tasks, resolve_db
    from harness.tracking import flatten, meta_path, run_meta, start_run

    splits = (split,) if split else None
    task_list = load_tasks(tasks, splits=splits)[:limit]
    if db is not None:
        resolve_db(db)  # a bad URL or a role that can write fails here, in one line
        task_list = [replace(t, db=db) for t in task_list]
    lm_config = replace(lm, seed=seed)
    databases = {t.db for t in task_list}
    if len(databases) == 1:  # one LM serves every worker: one database's adapter
        lm_config = with_registered_adapter(lm_config, resolve_db(databases.pop()).name)
    lm_config = lm_config.validate()
    for name in sorted({t.db for t in task_list}) if config.shots_k > 0 else []:
        ensure_shots(resolve_db(name))  # each database's bank, drawn on first use
    agent_config = config
    workers = default_workers(lm_config) if workers is None else workers
    synth_config = SynthConfig(workers=workers, samples=samples, server_wait=server_wait)
    meta = run_meta(tasks, lm_config, agent_config, synth_config, split, limit)
    output.parent.mkdir(parents=True, exist_ok=True)
    meta_path(output).write_text(json.dumps(meta, indent=2) + "\n")
    tracker = start_run("synth", meta)
    try:
        not_yet()
        results = synthesize(task_list, output, make_lm(lm_config), lm_config, agent_config,
                             synth_config, tracker, program=program)
        tracker.table("tasks", ["task", "difficulty", "question", "correct", "verified",
                                "rounds", "seconds", "code"], run_record(results))
        if run_eval:
            summary = _evaluate(results, meta, report or output.parent)
            tracker.summary(flatten(summary))
    finally:
        tracker.finish()
    out.print(f"{len(results)} results in {output}")


def evaluate_cmd(
    results: Annotated[Path, typer.Argument(help="Results file written by synth.")],
    report: ReportDir = None,
) -> None:
    """Score a results file: EX, comp@k, exec@k, pass@k, rounds, latency, tokens; a report."""
    from harness.synth import read_results
    from harness.tracking import flatten, meta_path, start_run
    from tools.errors import DevstarlError

    if not results.is_file():
        raise DevstarlError(f"results file not found: {results}")
    found = list(read_results(results).values())
    if not found:
        raise DevstarlError(f"no results in {results}")
    meta = json.loads(meta_path(results).read_text()) if meta_path(results).exists() else {}
    tracker = start_run("eval", meta)
    try:
        summary = _evaluate(found, meta, report or results.parent)
        tracker.summary(flatten(summary))
    finally:
        tracker.finish()


def _evaluate(results: list, meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    from harness.evaluate import summarize
    from harness.report import print_summary, write_report

    summary = {**summarize(results), "run": meta}
    print_summary(summary)
    for path in write_report(summary, results, folder):
        out.print(f"wrote {path}")
    return summary
